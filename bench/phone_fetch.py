"""Benchmark 5: phones fetching their files, magnaprov against an in-memory app and nginx.

The three servers run side by side (each on CPU 0, idle but for its turn). Each is checked
first (right bytes, 200 then 304 with the ETag it gives) and warmed: every device fetched once,
so magnaprov's cache holds the fleet, then a short random load. A measurement is random files
of random devices at a fixed number of connections, plain GETs (200) or revalidations with the
right ETag (304), cut in slices the servers take in turn, so that a ratio compares runs made
seconds apart; req/s is the slices' requests over their time, p50 and p99 the median slice's.
CPU per request is the server's CPU time over its slices, and for magnaprov also its
PostgreSQL backends', over the requests answered; magnaprov's slices each end with a
last-contact flush, since every fetch costs that write too.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import statistics
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.fleet import FleetDevice
from bench.load import LoadResult, Probe, random_load, sequence_load
from bench.nginx_server import find_nginx, nginx_server
from bench.processes import CpuSample, Server, free_port
from bench.served_files import ServedCopy, nginx_etag
from bench.servers import magnaprov_server, memory_server

__all__ = [
    "FetchRun",
    "PhoneFetchResult",
    "measure_phone_fetch",
    "wait_for_contact_flush",
    "warm_up",
]

MODES = ("200", "304")
WARM_UP_SECONDS = 2.0
# Each measurement is cut in slices, taken by the servers in turn, so that a disturbance (other
# work on the machine) falls on all of them alike.
SLICES = 3


@dataclass(frozen=True, slots=True)
class FetchRun:
    """One server under one load: what the client saw and the CPU the server spent."""

    load: LoadResult
    cpu: CpuSample

    def cpu_us_per_request(self, *, database: bool = False) -> float:
        """Server CPU (or its database backends' CPU) per answered request, in microseconds."""
        spent = self.cpu.database if database else self.cpu.server
        return spent / self.load.requests * 1e6 if self.load.requests else 0.0


@dataclass(slots=True)
class PhoneFetchResult:
    """Runs by (mode, connections, server name) and each server's peak RSS."""

    runs: dict[tuple[str, int, str], FetchRun] = field(default_factory=dict)
    peak_rss_mib: dict[str, float] = field(default_factory=dict)
    servers: list[str] = field(default_factory=list)


def measure_phone_fetch(
    database_url: str,
    devices: Sequence[FleetDevice],
    copy: ServedCopy,
    *,
    connections: Sequence[int],
    seconds: float,
    folder: Path,
) -> PhoneFetchResult:
    """Every mode and connection count on every server (nginx only when installed)."""
    probes = [Probe(path, etag) for path, etag in copy.etags.items()]
    result = PhoneFetchResult()
    with contextlib.ExitStack() as stack:
        servers = _start_servers(stack, database_url, copy, folder, probes[0].path)
        own = {server.name: _probes_for(server, probes, copy) for server in servers}
        for server in servers:
            _check(server, own[server.name], copy)
            warm_up(server, devices, connections[0], folder)
            random_load(server.port, own[server.name], conditional=False,
                        connections=connections[0], seconds=WARM_UP_SECONDS, folder=folder)  # fmt: skip
        for mode in MODES:
            for count in connections:
                turns = _take_turns(servers, own, mode, count, seconds, folder)
                result.runs.update({(mode, count, name): run for name, run in turns.items()})
        result.servers = [server.name for server in servers]
        result.peak_rss_mib = {server.name: server.peak_rss_mib() for server in servers}
    return result


def _start_servers(
    stack: contextlib.ExitStack, database_url: str, copy: ServedCopy, folder: Path, probe: str
) -> list[Server]:
    servers = [
        magnaprov_server(database_url, folder / "magnaprov", free_port(), probe),
        memory_server(copy, folder / "memory", free_port(), probe),
    ]
    nginx = find_nginx()
    if nginx is not None:
        servers.append(nginx_server(nginx, copy.www, folder / "nginx", free_port()))
    return [stack.enter_context(server) for server in servers]


def _take_turns(
    servers: list[Server],
    probes: dict[str, list[Probe]],
    mode: str,
    connections: int,
    seconds: float,
    folder: Path,
) -> dict[str, FetchRun]:
    """One measurement of every server, in slices taken in turn."""
    slices = max(1, min(SLICES, int(seconds // 2)))
    taken: dict[str, list[FetchRun]] = {server.name: [] for server in servers}
    for _ in range(slices):
        for server in servers:
            run = _measure(server, probes[server.name], mode, connections, seconds / slices, folder)
            taken[server.name].append(run)
    return {name: _combined(runs) for name, runs in taken.items()}


def warm_up(server: Server, devices: Sequence[FleetDevice], connections: int, folder: Path) -> None:
    """Fetch one file of every device once, over `connections` keep-alive connections."""
    paths = [f"/prov/{device.key}/{device.files[0]}" for device in devices if device.files]
    sequences = [
        {"source": "", "requests": [{"path": path} for path in paths[start::connections]]}
        for start in range(connections)
    ]
    load = sequence_load(server.port, sequences, connections=connections, folder=folder)
    assert load.unexpected == load.socket_errors == 0, load


def _measure(
    server: Server, probes: list[Probe], mode: str, connections: int, seconds: float, folder: Path
) -> FetchRun:
    before = server.cpu()
    load = random_load(server.port, probes, conditional=mode == "304",
                       connections=connections, seconds=seconds, folder=folder)  # fmt: skip
    if server.name == "magnaprov":
        wait_for_contact_flush(server)  # writing these fetches' last contacts is their cost too
    after = server.cpu()
    return FetchRun(load, CpuSample(after.server - before.server, after.database - before.database))


def _combined(runs: list[FetchRun]) -> FetchRun:
    """Slices of one measurement as one: totals, and the median slice's percentiles."""
    loads = [run.load for run in runs]
    load = replace(
        loads[0],
        requests=sum(load.requests for load in loads),
        seconds=sum(load.seconds for load in loads),
        p50_ms=statistics.median(load.p50_ms for load in loads),
        p99_ms=statistics.median(load.p99_ms for load in loads),
        socket_errors=sum(load.socket_errors for load in loads),
        unexpected=sum(load.unexpected for load in loads),
    )
    cpu = CpuSample(sum(run.cpu.server for run in runs), sum(run.cpu.database for run in runs))
    return FetchRun(load, cpu)


def wait_for_contact_flush(server: Server, timeout: float = 30.0) -> None:
    """Until magnaprov has no last contact waiting and its written count stopped moving."""
    deadline = time.monotonic() + timeout
    previous = None
    while time.monotonic() < deadline:
        figures = _metrics(server)
        written = figures.get("magnaprov_contacts_written_total")
        if figures.get("magnaprov_contacts_pending") == 0 and written == previous:
            return
        previous = written
        time.sleep(0.5)
    raise RuntimeError("magnaprov did not write the last contacts in time")


def _metrics(server: Server) -> dict[str, float]:
    url = f"http://127.0.0.1:{server.port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        lines = response.read().decode().splitlines()
    return {
        name: float(value)
        for name, _, value in (line.partition(" ") for line in lines if line[:1] not in {"#", ""})
    }


def _probes_for(server: Server, probes: list[Probe], copy: ServedCopy) -> list[Probe]:
    if server.name != "nginx":
        return probes
    return [Probe(probe.path, nginx_etag(copy, probe.path)) for probe in probes]


def _check(server: Server, probes: list[Probe], copy: ServedCopy, samples: int = 25) -> None:
    """The server answers a sample of paths with the exact bytes, and 304 to their ETag."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for probe in random.sample(probes, min(samples, len(probes))):
            expected = (copy.www / probe.path.lstrip("/")).read_bytes()
            connection.request("GET", probe.path)
            answer = connection.getresponse()
            body = answer.read()
            assert (answer.status, body) == (200, expected), (server.name, probe.path)
            assert answer.headers["etag"] == probe.etag, (server.name, probe.path)
            connection.request("GET", probe.path, headers={"If-None-Match": probe.etag})
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 304, (server.name, probe.path, answer.status)
    finally:
        connection.close()
