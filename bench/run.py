"""Run the benchmarks and print a table: `python -m bench.run --help`."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.fleet import Fleet, bench_settings, build_fleet, scratch_database
from bench.graphql_list import measure_graphql_list
from bench.http_suite import HTTP_BENCHMARKS, run_http_benchmarks
from bench.machine import describe_machine
from bench.regeneration import measure_regeneration
from magnaprov.db import create_engine
from magnaprov.settings import Settings

BENCHMARKS = ("graphql", "regeneration", "fetch", "storm", "memory", "soak")
DEFAULT = ("graphql", "regeneration", "fetch", "storm", "memory")
Row = tuple[str, str, str]


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="magnaprov benchmarks, printed as ratios.")
    parser.add_argument("--devices", type=int, default=10_000, help="fleet size (default 10000)")
    parser.add_argument(
        "--databases", default="postgresql,sqlite", help="comma-separated: postgresql,sqlite"
    )
    parser.add_argument(
        "--only",
        default=",".join(DEFAULT),
        help=f"comma-separated of {', '.join(BENCHMARKS)} (default: all but soak); "
        "fetch, storm, memory and soak run on PostgreSQL only",
    )
    parser.add_argument(
        "--rounds", type=int, default=20, help="repetitions of latency measurements"
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds per HTTP measurement (default 10)"
    )
    parser.add_argument(
        "--connections", default="32,256", help="comma-separated connection counts (default 32,256)"
    )
    parser.add_argument(
        "--soak-minutes", type=float, default=10.0, help="length of the soak (default 10)"
    )
    options = parser.parse_args(argv)
    unknown = set(options.only.split(",")) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    return options


async def run(options: argparse.Namespace) -> list[Row]:
    """Every selected benchmark on every selected database; rows of (name, figure, target)."""
    rows: list[Row] = []
    wanted = set(options.only.split(","))
    with tempfile.TemporaryDirectory() as folder:
        for kind in options.databases.split(","):
            selected = wanted if kind == "postgresql" else wanted - HTTP_BENCHMARKS
            if not selected:
                continue
            async with scratch_database(kind, folder) as url:
                engine = create_engine(url)
                settings = bench_settings(url)
                try:
                    fleet = await build_fleet(engine, settings, options.devices)
                    if "graphql" in selected:
                        rows.append(await _graphql_row(engine, settings, fleet, options, kind))
                    if selected & HTTP_BENCHMARKS:  # before regeneration, which changes files
                        rows += await run_http_benchmarks(engine, url, fleet, options, Path(folder))
                    if "regeneration" in selected:
                        rows.append(await _regeneration_row(engine, settings, kind))
                finally:
                    await engine.dispose()
    return rows


async def _graphql_row(
    engine: AsyncEngine, settings: Settings, fleet: Fleet, options: argparse.Namespace, kind: str
) -> Row:
    result = await measure_graphql_list(
        engine, settings, fleet.admin_password, options.rounds, options.devices
    )
    return (
        f"GraphQL 1,000 devices, p50 ({kind})",
        f"{result.graphql_p50_ms:.1f} ms vs raw {result.raw_p50_ms:.1f} ms = {result.ratio:.2f}x, "
        f"{result.statements} statements (graphql-core alone over the raw rows: "
        f"{result.executor_only_p50_ms:.1f} ms = {result.executor_only_ratio:.2f}x)",
        "<= 4x, <= 6 statements",
    )


async def _regeneration_row(engine: AsyncEngine, settings: Settings, kind: str) -> Row:
    regen = await measure_regeneration(engine, settings)
    return (
        f"Regeneration ({kind})",
        f"{regen.devices} devices, {regen.files} files in {regen.seconds:.1f} s = "
        f"{regen.devices_per_second:,.0f} devices/s",
        ">= 1,000/s on PostgreSQL",
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run and print."""
    options = parse(argv)
    rows = asyncio.run(run(options))
    print(f"{describe_machine()}; devices: {options.devices}")
    width = max((len(name) for name, _, _ in rows), default=0)
    for name, figure, target in rows:
        print(f"{name:<{width}}  {figure}" + (f"   [target {target}]" if target else ""))


if __name__ == "__main__":
    main()
