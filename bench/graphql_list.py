"""Benchmark 3: a GraphQL list of 1,000 devices against the raw SQL fetch of the same rows.

A third figure is graphql-core's own executor running the same query over the raw rows as plain
dictionaries (no database, no resolvers of ours): what the list would cost through its
per-field path, which the server's list completion (`schema/list_execution.py`) avoids.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from graphql import build_schema, graphql_sync
from sqlalchemy import Row, event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.serve.app import create_app
from magnaprov.settings import Settings

__all__ = ["GraphQLListResult", "measure_graphql_list"]

QUERY = """query { devices(first: 1000) { nodes {
  friendlyName mac templateName extension { fullNumber name owner { login name } } } } }"""
# The same rows and columns, fetched the fastest way the database allows.
RAW_SQL = """
SELECT d.friendly_name, d.mac, coalesce(t.name, 'Server default'), e.full_number, e.name, a.login, a.name
FROM device d
JOIN extension e ON e.id = d.extension_id
JOIN account a ON a.id = e.owner_id
LEFT JOIN provisioning_template t ON t.id = d.template_id
ORDER BY d.id LIMIT 1000
"""


# The part of the schema the query touches, for graphql-core alone.
EXECUTOR_ONLY_SDL = """
type Account { login: String! name: String! }
type Extension { fullNumber: String! name: String! owner: Account }
type Device { friendlyName: String! mac: String! templateName: String! extension: Extension }
type DeviceConnection { nodes: [Device!]! }
type Query { devices(first: Int): DeviceConnection! }
"""


@dataclass(frozen=True, slots=True)
class GraphQLListResult:
    """Latencies in milliseconds and the statements one GraphQL request sent."""

    graphql_p50_ms: float
    raw_p50_ms: float
    executor_only_p50_ms: float
    statements: int

    @property
    def ratio(self) -> float:
        """How many times slower the API is than the raw fetch."""
        return self.graphql_p50_ms / self.raw_p50_ms

    @property
    def executor_only_ratio(self) -> float:
        """graphql-core alone, over the raw rows, against the raw fetch."""
        return self.executor_only_p50_ms / self.raw_p50_ms


async def measure_graphql_list(
    engine: AsyncEngine, settings: Settings, admin_password: str, rounds: int, expected: int
) -> GraphQLListResult:
    """Median latency of the GraphQL list and of the raw query, interleaved in one run."""
    app = create_app(settings, engine, tune_gc=True)  # as `magnaprov serve` runs it
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        login = await client.post(
            "/graphql",
            json={
                "query": f'mutation {{ login(login: "admin", password: "{admin_password}") {{ token }} }}'
            },
        )
        token = login.json()["data"]["login"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        statements = await _count_statements(engine, client, headers)
        graphql_times, raw_times = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            response = await client.post("/graphql", json={"query": QUERY}, headers=headers)
            graphql_times.append(time.perf_counter() - started)
            assert len(response.json()["data"]["devices"]["nodes"]) == min(1000, expected)
            started = time.perf_counter()
            async with engine.connect() as connection:
                rows = (await connection.execute(text(RAW_SQL))).all()
            raw_times.append(time.perf_counter() - started)
            assert len(rows) == min(1000, expected)
    # Measured apart, after: interleaved, the garbage of graphql-core's own run made the next
    # GraphQL request's young-generation collection twice as slow (0.3-0.5 on the ratio).
    executor_times = _executor_only_times(_as_dictionaries(rows), rounds)
    return GraphQLListResult(
        statistics.median(graphql_times) * 1000,
        statistics.median(raw_times) * 1000,
        statistics.median(executor_times) * 1000,
        statements,
    )


def _executor_only_times(root: dict[str, Any], rounds: int) -> list[float]:
    """graphql-core's own executor running the query over `root`, `rounds` times."""
    executor_schema = build_schema(EXECUTOR_ONLY_SDL)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        executed = graphql_sync(executor_schema, QUERY, root_value=root)
        times.append(time.perf_counter() - started)
        assert not executed.errors, executed.errors
    return times


def _as_dictionaries(rows: Sequence[Row[Any]]) -> dict[str, Any]:
    """The raw rows shaped as the query's answer, for graphql-core's default resolver."""
    nodes = [
        {
            "friendlyName": friendly_name,
            "mac": mac,
            "templateName": template_name,
            "extension": {
                "fullNumber": full_number,
                "name": extension_name,
                "owner": {"login": login, "name": owner_name},
            },
        }
        for friendly_name, mac, template_name, full_number, extension_name, login, owner_name in rows
    ]
    return {"devices": {"nodes": nodes}}


async def _count_statements(
    engine: AsyncEngine, client: httpx.AsyncClient, headers: dict[str, str]
) -> int:
    count = 0

    def counter(*_args: object) -> None:
        nonlocal count
        count += 1

    event.listen(engine.sync_engine, "before_cursor_execute", counter)
    try:
        await client.post("/graphql", json={"query": QUERY}, headers=headers)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", counter)
    return count
