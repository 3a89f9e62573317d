"""GraphiQL served by this server alone: the page at GET /graphql and the files it loads.

The servers run in private networks that reach no CDN, so React, ReactDOM and GraphiQL come
from `graphiql_assets/node_modules`, which `npm ci` fills from the pinned `package-lock.json`
there (`make graphiql-assets`). GraphiQL 3.9 is the last line shipped as a UMD bundle that plain
script tags can load. Without those files the page explains how to install them instead of
failing. The files are read once into memory and served under a path carrying a digest of their
contents, so browsers may cache them for good.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

__all__ = ["ASSET_DIR", "GraphiQLAssets", "load_graphiql"]

ASSET_DIR = Path(__file__).with_name("graphiql_assets")
ASSET_PATH = "/graphiql/{version}/{name}"

_JS = "text/javascript; charset=utf-8"
_CSS = "text/css; charset=utf-8"
# Served name -> (file under the asset folder, media type), in the order the page loads them.
# Only these files are reachable: node_modules itself is never exposed.
_SOURCES: Mapping[str, tuple[str, str]] = {
    "graphiql.css": ("node_modules/graphiql/graphiql.min.css", _CSS),
    "page.css": ("page.css", _CSS),
    "react.js": ("node_modules/react/umd/react.production.min.js", _JS),
    "react-dom.js": ("node_modules/react-dom/umd/react-dom.production.min.js", _JS),
    "graphiql.js": ("node_modules/graphiql/graphiql.min.js", _JS),
    "bootstrap.js": ("bootstrap.js", _JS),
}

# Everything comes from this origin; GraphiQL's stylesheet embeds its fonts and icons as data:
# URLs. No inline script or style is allowed: the one inline style GraphiQL tries (a scroll lock
# its dialogs add to <body>) is refused harmlessly, as the page never scrolls.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "font-src 'self' data:",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
_PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_ASSET_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>magnaprov GraphiQL</title>
<link rel="icon" href="data:,">
{tags}
</head>
<body><div id="graphiql">Loading GraphiQL…</div></body>
</html>
"""

_MISSING_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>magnaprov GraphiQL: not installed</title></head>
<body>
<h1>GraphiQL is not installed on this server</h1>
<p>The GraphQL API at this address works; only the in-browser IDE is missing. Its files are
installed from the npm registry with <code>make graphiql-assets</code> (that is,
<code>npm ci --ignore-scripts</code> in <code>{directory}</code>), then the server restarted.</p>
<p>Missing: {missing}</p>
<p>Meanwhile, send queries with any HTTP client, for example:</p>
<pre>curl -H 'Content-Type: application/json' -H 'Authorization: Bearer &lt;token&gt;' \\
     -d '{{"query": "{{ viewer {{ name }} }}"}}' http://&lt;this server&gt;/graphql</pre>
</body>
</html>
"""


@dataclass(frozen=True)
class Asset:
    """One file the page loads."""

    body: bytes
    media_type: str


class GraphiQLAssets:
    """The GraphiQL page and its files, or a page explaining which files are missing."""

    def __init__(self, files: Mapping[str, Asset], missing: list[str], directory: Path) -> None:
        self.files = dict(files)
        self.missing = missing
        self.directory = directory
        digest = hashlib.sha256()
        for name, asset in sorted(self.files.items()):
            digest.update(name.encode() + b"\0" + hashlib.sha256(asset.body).digest())
        self.version = digest.hexdigest()[:16]

    @classmethod
    def from_directory(cls, directory: Path) -> GraphiQLAssets:
        """Read the files from `directory`, noting the ones that are absent."""
        files: dict[str, Asset] = {}
        missing: list[str] = []
        for name, (relative, media_type) in _SOURCES.items():
            try:
                files[name] = Asset((directory / relative).read_bytes(), media_type)
            except OSError:
                missing.append(relative)
        return cls(files, missing, directory)

    @property
    def installed(self) -> bool:
        """Whether every file the page needs is there."""
        return not self.missing

    def asset_url(self, name: str) -> str:
        """The file's URL relative to /graphql, so the page also works under a path prefix."""
        return ASSET_PATH.format(version=self.version, name=name).lstrip("/")

    def page_html(self) -> str:
        """The page GET /graphql answers a browser with."""
        if not self.installed:
            return _MISSING_PAGE.format(
                directory=escape(str(self.directory)), missing=escape(", ".join(self.missing))
            )
        tags = []
        for name, (_relative, media_type) in _SOURCES.items():
            url = escape(self.asset_url(name))
            if media_type == _CSS:
                tags.append(f'<link rel="stylesheet" href="{url}">')
            else:
                tags.append(f'<script defer src="{url}"></script>')
        return _PAGE.format(tags="\n".join(tags))

    def page(self) -> Response:
        """The page as a response, under the strict Content-Security-Policy."""
        return HTMLResponse(self.page_html(), headers=_PAGE_HEADERS)

    async def serve_asset(self, request: Request) -> Response:
        """One of the page's files; other versions and names are not found."""
        asset = self.files.get(request.path_params["name"])
        if asset is None or request.path_params["version"] != self.version:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return Response(asset.body, media_type=asset.media_type, headers=_ASSET_HEADERS)

    def route(self) -> Route:
        """The route serving the page's files."""
        return Route(ASSET_PATH, self.serve_asset, methods=["GET", "HEAD"])


@lru_cache(maxsize=4)
def load_graphiql(directory: Path = ASSET_DIR) -> GraphiQLAssets:
    """The assets of `directory`, read once per process (every app built shares them)."""
    return GraphiQLAssets.from_directory(directory)
