"""The benchmark harness runs end to end on a tiny fleet, so it cannot rot (no timing asserted)."""

from __future__ import annotations

from bench.load import client_name
from bench.nginx_server import find_nginx
from bench.run import parse, run


async def test_the_benchmarks_run_on_a_tiny_fleet_on_both_databases():
    rows = await run(parse(["--devices", "24", "--rounds", "1", "--only", "graphql,regeneration"]))
    names = [name for name, _, _ in rows]
    assert names == [
        "GraphQL 1,000 devices, p50 (postgresql)",
        "Regeneration (postgresql)",
        "GraphQL 1,000 devices, p50 (sqlite)",
        "Regeneration (sqlite)",
    ]
    assert all("devices" in figure or "statements" in figure for _, figure, _ in rows)


async def test_the_http_benchmarks_run_real_servers_on_a_tiny_fleet():
    arguments = ["--devices", "24", "--only", "fetch,storm,memory,soak", "--duration", "1"]
    arguments += ["--connections", "4", "--soak-minutes", "0.05"]
    rows = await run(parse(arguments))
    servers = ["magnaprov", "in-memory"] + (["nginx"] if find_nginx() else [])
    client = client_name()
    names = [name for name, _, _ in rows]
    assert names == [
        *(f"Phone fetch 200, 4 conn: {server}" for server in servers),
        f"Phone fetch 200, 4 conn: ratios ({client})",
        *(f"Phone fetch 304 If-None-Match, 4 conn: {server}" for server in servers),
        f"Phone fetch 304 If-None-Match, 4 conn: ratios ({client})",
        "Boot storm, 24 phones, 4 conn (asyncio client)",
        "Peak RSS, phone fetch, 24 devices",
        "Peak RSS, boot storm, 24 devices",
        "Soak 0.05 min, 4 conn + GraphQL writes",
    ]
    figures = {name: figure for name, figure, _ in rows}
    assert "ERRORS" not in " ".join(figures.values())
    assert (
        "24 404 for 24 misses, 0 errors"
        in figures["Boot storm, 24 phones, 4 conn (asyncio client)"]
    )
    assert "(0 refused)" in figures["Soak 0.05 min, 4 conn + GraphQL writes"]
