"""GraphiQL is served by this server alone: a real headless Chromium runs a query through it.

The browser is Debian's chromium, driven over the Chrome DevTools Protocol; every name but
127.0.0.1 resolves to nothing, so a page reaching for a CDN would break. Without chromium the
browser test is skipped, except under CI=true, where it fails.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from conftest import IN_CI, TEST_KEYRING
from starlette.applications import Starlette
from starlette.routing import Route
from websockets.sync.client import ClientConnection, connect

from magnaprov.serve.graphiql import ASSET_DIR, GraphiQLAssets

QUERY = "{ viewer { name } }"
LOGIN = """
mutation Login($login: String!, $password: String!) {
  login(login: $login, password: $password) { token userErrors { message } }
}
"""
NPM_FILES = {
    "node_modules/graphiql/graphiql.min.css": b".graphiql-container{}",
    "node_modules/react/umd/react.production.min.js": b"var React={};",
    "node_modules/react-dom/umd/react-dom.production.min.js": b"var ReactDOM={};",
    "node_modules/graphiql/graphiql.min.js": b"var GraphiQL={};",
}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,800",
    "--remote-debugging-port=0",
]
TIMEOUT = 15.0


# In-process checks of the page and its files, on a stand-in asset folder.


@pytest.fixture
def fake_assets(tmp_path: Path) -> GraphiQLAssets:
    for relative, body in NPM_FILES.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(body)
    for ours in ("bootstrap.js", "page.css"):
        shutil.copy(ASSET_DIR / ours, tmp_path / ours)
    return GraphiQLAssets.from_directory(tmp_path)


def ide_client(assets: GraphiQLAssets) -> httpx.AsyncClient:
    async def page(_request: Any) -> Any:
        return assets.page()

    app = Starlette(routes=[Route("/graphql", page), assets.route()])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def page_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]*)"', html)


async def test_page_loads_only_files_of_its_own_origin_under_a_strict_policy(fake_assets):
    async with ide_client(fake_assets) as http:
        response = await http.get("/graphql")
    assert response.status_code == 200
    files = [url for url in page_urls(response.text) if not url.startswith("data:")]
    assert len(files) == 6
    assert all(url.startswith(f"graphiql/{fake_assets.version}/") for url in files)
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy
    assert "unsafe" not in policy
    assert "<script>" not in response.text


async def test_files_are_served_with_their_type_and_cached_for_good(fake_assets):
    async with ide_client(fake_assets) as http:
        script = await http.get(f"/graphiql/{fake_assets.version}/react.js")
        style = await http.get(f"/graphiql/{fake_assets.version}/graphiql.css")
    assert script.content == NPM_FILES["node_modules/react/umd/react.production.min.js"]
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert script.headers["x-content-type-options"] == "nosniff"


async def test_other_versions_and_other_files_are_not_found(fake_assets):
    version = fake_assets.version
    async with ide_client(fake_assets) as http:
        stale = await http.get("/graphiql/0123456789abcdef/react.js")
        unlisted = await http.get(f"/graphiql/{version}/package.json")
        escaping = await http.get(f"/graphiql/{version}/..%2Fpackage.json")
    assert [stale.status_code, unlisted.status_code, escaping.status_code] == [404, 404, 404]


async def test_new_file_contents_change_the_version(fake_assets, tmp_path):
    (tmp_path / "page.css").write_text("body{}")
    assert GraphiQLAssets.from_directory(tmp_path).version != fake_assets.version


async def test_without_npm_files_the_page_says_how_to_install_them(tmp_path):
    assets = GraphiQLAssets.from_directory(tmp_path)
    async with ide_client(assets) as http:
        response = await http.get("/graphql")
    assert response.status_code == 200
    assert "GraphiQL is not installed" in response.text
    assert "make graphiql-assets" in response.text
    assert "node_modules/graphiql/graphiql.min.js" in response.text
    assert page_urls(response.text) == []


# The real server and a real browser.


@pytest.fixture
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "needs chromium (apt: chromium)"
        if IN_CI:
            pytest.fail(f"{message}: required under CI=true")
        pytest.skip(message)
    if not GraphiQLAssets.from_directory(ASSET_DIR).installed:
        pytest.fail("GraphiQL's npm files are missing: run `make graphiql-assets`")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(condition: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """End a process this test started, with everything it started (its own group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class Server:
    origin: str
    password: str
    log: Path

    def token(self) -> str:
        variables = {"login": "admin", "password": self.password}
        response = httpx.post(
            f"{self.origin}/graphql", json={"query": LOGIN, "variables": variables}
        )
        token: str = response.json()["data"]["login"]["token"]
        assert token, response.text
        return token


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """`magnaprov serve`, as `make run` starts it, on a fresh SQLite file under tmp_path."""
    port = free_port()
    password = base64.urlsafe_b64encode(os.urandom(18)).decode()
    environment = {name: value for name, value in os.environ.items() if "MAGNAPROV" not in name}
    environment.update(
        MAGNAPROV_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'magnaprov.db'}",
        MAGNAPROV_ADMIN_PASSWORD=password,
        MAGNAPROV_SECRETS_KEYS=TEST_KEYRING,
        MAGNAPROV_ARGON2_TIME_COST="1",
        MAGNAPROV_ARGON2_MEMORY_KIB="64",
        MAGNAPROV_ARGON2_PARALLELISM="1",
    )
    log = tmp_path / "server.log"
    command = [str(Path(sys.executable).with_name("magnaprov")), "serve", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=environment,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    origin = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.get(f"{origin}/healthz").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(healthy, "the server to start")
        yield Server(origin, password, log)
    finally:
        stop(process)


@dataclass
class DevTools:
    """A Chrome DevTools Protocol session on one page; events are kept as they arrive."""

    socket: ClientConnection
    events: list[dict[str, Any]] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=itertools.count)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        self.socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=TIMEOUT))
            if message.get("id") == call_id:
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return answer["result"].get("value")

    def click(self, selector: str) -> None:
        box = self.evaluate(
            f"JSON.stringify(document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect())"
        )
        rect = json.loads(box)
        x, y = rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def params_of(self, method: str) -> list[dict[str, Any]]:
        return [event["params"] for event in self.events if event.get("method") == method]


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Iterator[DevTools]:
    profile = tmp_path / "chromium-profile"
    process = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        active_port = profile / "DevToolsActivePort"
        wait_until(active_port.exists, "chromium's DevTools port")
        port = wait_until(lambda: active_port.read_text().split("\n")[0], "the port number")
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list").json()
        page = next(target for target in targets if target["type"] == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=2**26) as cdp:
            devtools = DevTools(cdp)
            for domain in ("Page", "Network", "Runtime", "Log"):
                devtools.call(f"{domain}.enable")
            yield devtools
    finally:
        stop(process)


def test_a_browser_runs_a_query_with_a_bearer_token_through_graphiql(browser, server, tmp_path):
    fragment = urlencode({"token": server.token(), "query": QUERY}, quote_via=quote)
    browser.call("Page.navigate", url=f"{server.origin}/graphql#{fragment}")
    wait_until(
        lambda: browser.evaluate("!!document.querySelector('.graphiql-execute-button')"),
        "GraphiQL to render",
    )
    browser.click(".graphiql-execute-button")
    result = "document.querySelector('.result-window')?.innerText ?? ''"
    try:
        wait_until(lambda: "Administrator" in browser.evaluate(result), "the query's result")
    finally:
        shot = browser.call("Page.captureScreenshot")["data"]
        (tmp_path / "graphiql.png").write_bytes(base64.b64decode(shot))

    requested = [
        event["request"]["url"] for event in browser.params_of("Network.requestWillBeSent")
    ]
    assert any(url.endswith("/graphiql.js") for url in requested)
    elsewhere = [url for url in requested if not url.startswith((server.origin + "/", "data:"))]
    assert elsewhere == []
    logged = [event["entry"]["text"] for event in browser.params_of("Log.entryAdded")]
    assert not [text for text in logged if "Content Security Policy" in text], logged
    assert browser.params_of("Runtime.exceptionThrown") == []
