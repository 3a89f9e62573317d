"""/healthz follows the database."""

from __future__ import annotations

import httpx
from conftest import make_settings

from magnaprov.serve.app import create_app


async def test_healthz_answers_200_while_the_database_is_reachable(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


async def test_healthz_answers_503_when_the_database_is_unreachable():
    settings = make_settings("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        response = await http.get("/healthz")
    assert response.status_code == 503
    await app.state.engine.dispose()


async def test_graphql_get_in_a_browser_opens_graphiql(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
