"""Scanning: thousands of guessed keys and MACs learn nothing, and one address that keeps
missing is banned while the others are still served."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from account_tree import build_tree
from conftest import GraphQL, StatementCounter, make_settings
from metric_samples import parse_scrape
from phone_simulators import add_line, provision_on, set_preferences
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.serve.app import create_app

YEALINK = {"manufacturer": "yealink", "model": "T46S", "firmware": "V81"}
MAC = "00:15:65:5c:a0:01"
GUESSES = 5000
THRESHOLD = 25


@pytest.fixture
async def app(engine: AsyncEngine) -> AsyncIterator[Any]:
    settings = make_settings(
        engine.url.render_as_string(hide_password=False),
        miss_threshold=THRESHOLD,
        contact_flush_seconds=3600,
    )
    app = create_app(settings, engine)
    async with app.router.lifespan_context(app):
        yield app


async def fetch(app: Any, address: str, path: str) -> httpx.Response:
    """One request from its own client address."""
    transport = httpx.ASGITransport(app=app, client=(address, 5060))
    response = await transport.handle_async_request(httpx.Request("GET", "http://prov.test" + path))
    await response.aread()
    return response


def answer(response: httpx.Response) -> tuple[int, bytes, tuple[tuple[str, str], ...]]:
    # The time and the request's own id differ between any two answers.
    headers = tuple(
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in {"date", "x-request-id"}
    )
    return response.status_code, response.content, headers


async def test_random_keys_and_macs_all_get_one_identical_404_then_the_scanner_is_banned(
    app, session_factory, services, engine
):
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://prov.test")
    gql = GraphQL(http)
    tree = await build_tree(session_factory, services)
    await set_preferences(gql, tree["admin"].token, allow=True)
    line = await add_line(gql, tree["o1"].token, tree["u1"].gid, "Scan Target", "Target-pw-9")
    device = await provision_on(
        gql, tree["o1"].token, line, MAC, YEALINK, protocol="HTTP", macBased=True
    )
    served = device.directory + MAC.replace(":", "") + ".cfg"
    await http.aclose()

    paths = [
        f"/prov/{secrets.token_urlsafe(24)}/{MAC.replace(':', '')}.cfg" for _ in range(GUESSES)
    ]
    paths += [f"/prov/{secrets.token_hex(6)}.cfg" for _ in range(GUESSES)]
    answers: set[tuple[int, bytes, tuple[tuple[str, str], ...]]] = set()
    batch = 100
    for start in range(0, len(paths), batch):
        responses = await asyncio.gather(
            *(
                fetch(app, f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", paths[i])
                for i in range(start, min(start + batch, len(paths)))
            )
        )
        answers.update(answer(response) for response in responses)
    assert len(answers) == 1, answers
    [(status, body, headers)] = answers
    assert status == 404 and body == b"Not Found\n"
    assert dict(headers)["cache-control"] == "no-store"

    scanner, neighbour = "203.0.113.66", "203.0.113.67"
    for _ in range(THRESHOLD):
        assert (await fetch(app, scanner, f"/prov/{secrets.token_hex(6)}.cfg")).status_code == 404
    with StatementCounter(engine) as statements:
        banned = await fetch(app, scanner, served)
    assert banned.status_code == 429
    assert banned.headers["retry-after"] == "300"
    assert statements.count == 0  # refused before any look-up
    assert (await fetch(app, neighbour, served)).status_code == 200
    metrics = parse_scrape((await fetch(app, neighbour, "/metrics")).text)
    assert metrics.value("magnaprov_device_bans_total") == 1
    assert metrics.value("magnaprov_device_misses_total") == 2 * GUESSES + THRESHOLD
