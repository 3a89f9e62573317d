"""Every HTTP answer carries an `X-Request-ID`: the caller's when it is a sane one, else new."""

from __future__ import annotations

import httpx
import pytest

from magnaprov.serve.app import create_app

PATHS = ["/healthz", "/graphql?query=%7B__typename%7D", "/prov/nokey/missing.cfg", "/nowhere"]


@pytest.fixture
async def http(engine, settings):
    app = create_app(settings, engine)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.8", 5060))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def test_every_answer_gets_its_own_request_id(http):
    ids = [(await http.get(path)).headers.get("x-request-id") for path in PATHS * 2]
    assert None not in ids
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("path", PATHS)
async def test_a_sane_incoming_request_id_is_echoed(http, path):
    response = await http.get(path, headers={"X-Request-ID": "lb-7f3a.9_Z"})
    assert response.headers["x-request-id"] == "lb-7f3a.9_Z"


@pytest.mark.parametrize("given", [b"a b", b"x" * 65, b"id;drop", "é".encode(), b""])
@pytest.mark.parametrize("path", ["/healthz", "/prov/nokey/missing.cfg"])
async def test_an_odd_incoming_request_id_is_replaced(http, path, given):
    response = await http.get(path, headers={"X-Request-ID": given})
    returned = response.headers["x-request-id"].encode()
    assert returned and returned != given
