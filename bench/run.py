"""Run the benchmarks and print a table: `python -m bench.run --help`."""

from __future__ import annotations

import argparse
import asyncio
import platform
import tempfile
from collections.abc import Sequence

from bench.fleet import bench_settings, build_fleet, scratch_database
from bench.graphql_list import measure_graphql_list
from bench.regeneration import measure_regeneration
from magnaprov.db import create_engine

BENCHMARKS = ("graphql", "regeneration")


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="magnaprov benchmarks, printed as ratios.")
    parser.add_argument("--devices", type=int, default=10_000, help="fleet size (default 10000)")
    parser.add_argument(
        "--databases", default="postgresql,sqlite", help="comma-separated: postgresql,sqlite"
    )
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"comma-separated of {BENCHMARKS}"
    )
    parser.add_argument(
        "--rounds", type=int, default=20, help="repetitions of latency measurements"
    )
    return parser.parse_args(argv)


async def run(options: argparse.Namespace) -> list[tuple[str, str, str]]:
    """Every selected benchmark on every selected database; rows of (name, figure, target)."""
    rows: list[tuple[str, str, str]] = []
    wanted = set(options.only.split(","))
    with tempfile.TemporaryDirectory() as folder:
        for kind in options.databases.split(","):
            async with scratch_database(kind, folder) as url:
                engine = create_engine(url)
                settings = bench_settings(url)
                try:
                    fleet = await build_fleet(engine, settings, options.devices)
                    if "graphql" in wanted:
                        result = await measure_graphql_list(
                            engine, settings, fleet.admin_password, options.rounds, options.devices
                        )
                        rows.append(
                            (
                                f"GraphQL 1,000 devices, p50 ({kind})",
                                f"{result.graphql_p50_ms:.1f} ms vs raw {result.raw_p50_ms:.1f} ms = {result.ratio:.2f}x, "
                                f"{result.statements} statements",
                                "<= 4x, <= 6 statements",
                            )
                        )
                    if "regeneration" in wanted:
                        regen = await measure_regeneration(engine, settings)
                        rows.append(
                            (
                                f"Regeneration ({kind})",
                                f"{regen.devices} devices, {regen.files} files in {regen.seconds:.1f} s = "
                                f"{regen.devices_per_second:,.0f} devices/s",
                                ">= 1,000/s on PostgreSQL",
                            )
                        )
                finally:
                    await engine.dispose()
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """Run and print."""
    options = parse(argv)
    rows = asyncio.run(run(options))
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"devices: {options.devices}"
    )
    width = max(len(name) for name, _, _ in rows)
    for name, figure, target in rows:
        print(f"{name:<{width}}  {figure}   [target {target}]")


if __name__ == "__main__":
    main()
