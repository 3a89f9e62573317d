"""The HTTP benchmarks on one fleet (phone fetch, boot storm, memory, soak) and their rows.

They run in a worker thread: the servers and load generators are subprocesses, waited on
with blocking calls. `memory` needs the loads of `fetch` and `storm`, so it runs them.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.boot_storm import BootStormResult, measure_boot_storm
from bench.fleet import Fleet
from bench.load import LoadResult
from bench.phone_fetch import MODES, FetchRun, PhoneFetchResult, measure_phone_fetch
from bench.served_files import export_served_files
from bench.soak import SoakResult, measure_soak

__all__ = ["HTTP_BENCHMARKS", "run_http_benchmarks"]

HTTP_BENCHMARKS = frozenset({"fetch", "storm", "memory", "soak"})
Row = tuple[str, str, str]
RSS_TARGET = "<= 250 MB per worker"


async def run_http_benchmarks(
    engine: AsyncEngine, url: str, fleet: Fleet, options: argparse.Namespace, folder: Path
) -> list[Row]:
    """The selected HTTP benchmarks, as table rows."""
    wanted = set(options.only.split(","))
    copy = await export_served_files(engine, fleet.devices, folder / "copy")
    connections = [int(count) for count in options.connections.split(",")]
    rows: list[Row] = []
    fetch = storm = None
    if wanted & {"fetch", "memory", "storm"}:
        fetch = await asyncio.to_thread(
            measure_phone_fetch, url, fleet.devices, copy,
            connections=connections, seconds=options.duration, folder=folder,
        )  # fmt: skip
        rows += list(_fetch_rows(fetch, connections)) if "fetch" in wanted else []
    if wanted & {"storm", "memory"}:
        storm = await asyncio.to_thread(
            measure_boot_storm, url, fleet.devices, connections=max(connections), folder=folder
        )
        rows += [_storm_row(storm, fetch, max(connections))] if "storm" in wanted else []
    if "memory" in wanted and fetch is not None and storm is not None:
        rows += _memory_rows(fetch, storm, len(fleet.devices))
    if "soak" in wanted:
        soak = await asyncio.to_thread(
            measure_soak, url, fleet.devices, copy, fleet.admin_password,
            minutes=options.soak_minutes, connections=min(connections), folder=folder,
        )  # fmt: skip
        rows.append(_soak_row(soak, min(connections)))
    return rows


def _load_figures(load: LoadResult) -> str:
    text = f"{load.per_second:,.0f} req/s, p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms"
    errors = load.unexpected + load.socket_errors
    return text + (f", {errors} ERRORS" if errors else "")


def _run_figures(server: str, run: FetchRun) -> str:
    cpu = f"CPU {run.cpu_us_per_request():.0f} us/req"
    if server == "magnaprov":
        cpu += f" (+{run.cpu_us_per_request(database=True):.0f} PostgreSQL)"
    return f"{_load_figures(run.load)}, {cpu}"


def _fetch_rows(result: PhoneFetchResult, connections: list[int]) -> Iterator[Row]:
    labels = {"200": "200", "304": "304 If-None-Match"}
    for mode in MODES:
        for count in connections:
            name = f"Phone fetch {labels[mode]}, {count} conn"
            runs = {server: result.runs[(mode, count, server)] for server in result.servers}
            for server, run in runs.items():
                yield (f"{name}: {server}", _run_figures(server, run), "")
            ours = runs["magnaprov"].load.per_second
            ratios = [
                f"magnaprov/{server} {ours / run.load.per_second:.2f}"
                for server, run in runs.items()
                if server != "magnaprov" and run.load.per_second
            ]
            client = runs["magnaprov"].load.client
            yield (f"{name}: ratios ({client})", ", ".join(ratios), ">= 0.9 of in-memory")


def _storm_row(storm: BootStormResult, fetch: PhoneFetchResult | None, connections: int) -> Row:
    figure = (
        f"{storm.load.seconds:.1f} s, {storm.files:,} files = {storm.files_per_second:,.0f} files/s, "
        f"p99 {storm.load.p99_ms:.1f} ms, {storm.misses:,} 404 for {storm.misses_sent:,} misses, "
        f"{storm.errors} errors"
    )
    repeated = None if fetch is None else fetch.runs.get(("200", connections, "magnaprov"))
    if repeated is not None and repeated.load.per_second:
        figure += f"; = {storm.files_per_second / repeated.load.per_second:.2f} of repeated fetch"
    name = f"Boot storm, {storm.phones:,} phones, {connections} conn (asyncio client)"
    return (name, figure, ">= 0.3 of repeated fetch, 0 errors")


def _memory_rows(fetch: PhoneFetchResult, storm: BootStormResult, devices: int) -> list[Row]:
    others = ", ".join(
        f"{server} {rss:.0f}" for server, rss in fetch.peak_rss_mib.items() if server != "magnaprov"
    )
    return [
        (
            f"Peak RSS, phone fetch, {devices:,} devices",
            f"magnaprov {fetch.peak_rss_mib['magnaprov']:.0f} MiB (others: {others})",
            RSS_TARGET,
        ),
        (
            f"Peak RSS, boot storm, {devices:,} devices",
            f"magnaprov {storm.peak_rss_mib:.0f} MiB",
            RSS_TARGET,
        ),
    ]


def _soak_row(soak: SoakResult, connections: int) -> Row:
    figure = (
        f"RSS {soak.start_rss_mib:.0f} -> {soak.end_rss_mib:.0f} MiB ({soak.growth_mib:+.1f} MiB), "
        f"peak {soak.peak_rss_mib:.0f} MiB; {soak.fetches.requests:,} fetches "
        f"({_load_figures(soak.fetches)}), {soak.writes} GraphQL writes ({soak.failed_writes} refused)"
    )
    return (
        f"Soak {soak.minutes:g} min, {connections} conn + GraphQL writes",
        figure,
        "growth reported",
    )
