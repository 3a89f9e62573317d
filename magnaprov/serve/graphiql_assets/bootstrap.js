// Starts GraphiQL on the page magnaprov/serve/graphiql.py serves at GET /graphql.
// It lives in its own file, not inline, so the page's Content-Security-Policy can forbid
// inline scripts. The URL fragment may carry `token` and `query`: a fragment never reaches
// the server or its logs, and it is cleared from the address bar once read.
(function () {
  "use strict";

  const endpoint = window.location.pathname;

  function readFragment() {
    const fragment = new URLSearchParams(window.location.hash.slice(1));
    if (window.location.hash) {
      window.history.replaceState(null, "", endpoint + window.location.search);
    }
    return { token: fragment.get("token") || "", query: fragment.get("query") };
  }

  async function fetcher(params, options) {
    const response = await window.fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        ...(options && options.headers),
        Accept: "application/json",
        "Content-Type": "application/json",
      },
      body: JSON.stringify(params),
    });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch (_error) {
      return { errors: [{ message: "HTTP " + response.status + ": " + text }] };
    }
  }

  function start() {
    const given = readFragment();
    const props = {
      fetcher: fetcher,
      // Headers hold the session token: keep them out of the browser's storage.
      shouldPersistHeaders: false,
      defaultHeaders: JSON.stringify({ Authorization: "Bearer " + given.token }, null, 2),
      defaultEditorToolsVisibility: "headers",
    };
    if (given.query) {
      props.query = given.query;
    }
    const root = ReactDOM.createRoot(document.getElementById("graphiql"));
    root.render(React.createElement(GraphiQL, props));
  }

  start();
})();
