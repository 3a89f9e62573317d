"""The benchmark harness runs end to end on a tiny fleet, so it cannot rot (no timing asserted)."""

from __future__ import annotations

from bench.run import parse, run


async def test_the_benchmarks_run_on_a_tiny_fleet_on_both_databases():
    rows = await run(parse(["--devices", "24", "--rounds", "1"]))
    names = [name for name, _, _ in rows]
    assert names == [
        "GraphQL 1,000 devices, p50 (postgresql)",
        "Regeneration (postgresql)",
        "GraphQL 1,000 devices, p50 (sqlite)",
        "Regeneration (sqlite)",
    ]
    assert all("devices" in figure or "statements" in figure for _, figure, _ in rows)
