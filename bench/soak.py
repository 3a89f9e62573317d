"""Benchmark 8 (not in the default run): mixed load for minutes, watching magnaprov's memory.

Phones fetch random files at a fixed number of connections while an administrator, through
the GraphQL API with a session token, changes SIP preferences and re-provisions devices one
after the other (each write re-renders a device's files, so the phones' cache entries are
evicted and reloaded all along). RSS (VmRSS) is read once the cache holds the fleet, and
again at the end, after the last contacts are written; VmHWM gives the peak in between.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.fleet import FleetDevice
from bench.load import LoadResult, Probe, random_load
from bench.phone_fetch import wait_for_contact_flush, warm_up
from bench.processes import free_port
from bench.served_files import ServedCopy
from bench.servers import magnaprov_server

__all__ = ["SoakResult", "measure_soak"]

LOGIN = 'mutation($password: String!) { login(login: "admin", password: $password) { token } }'
EXTENSIONS = "query { devices(first: 500) { nodes { mac extension { id } } } }"
UPDATE_SIP = """mutation($id: ID!, $dtmf: DtmfMode) {
  updateSipPreferences(extensionId: $id, dtmfMode: $dtmf) { userErrors { code } } }"""
PROVISION = """mutation($id: ID!, $name: String) {
  provisionDevice(extensionId: $id, friendlyName: $name, regenerate: true) { userErrors { code } } }"""


@dataclass(frozen=True, slots=True)
class SoakResult:
    """RSS over the soak and what was done meanwhile."""

    minutes: float
    start_rss_mib: float
    end_rss_mib: float
    peak_rss_mib: float
    fetches: LoadResult
    writes: int
    failed_writes: int

    @property
    def growth_mib(self) -> float:
        """End minus start."""
        return self.end_rss_mib - self.start_rss_mib


def measure_soak(
    database_url: str,
    devices: Sequence[FleetDevice],
    copy: ServedCopy,
    admin_password: str,
    *,
    minutes: float,
    connections: int,
    folder: Path,
) -> SoakResult:
    """`minutes` of fetches and GraphQL writes against one magnaprov."""
    probes = [Probe(path, etag) for path, etag in copy.etags.items()]
    seconds = minutes * 60
    with magnaprov_server(database_url, folder / "soak", free_port(), probes[0].path) as server:
        warm_up(server, devices, connections, folder)
        start = server.rss_mib()
        done = threading.Event()
        with ThreadPoolExecutor(max_workers=1) as pool:
            writer = pool.submit(_write_until, server.port, admin_password, done)
            try:
                fetches = random_load(server.port, probes, conditional=False,
                                      connections=connections, seconds=seconds, folder=folder)  # fmt: skip
            finally:
                done.set()
            writes, failed = writer.result()
        wait_for_contact_flush(server)
        return SoakResult(
            minutes, start, server.rss_mib(), server.peak_rss_mib(), fetches, writes, failed
        )


def _write_until(port: int, password: str, done: threading.Event) -> tuple[int, int]:
    """GraphQL writes, one after the other, until `done`; (writes, failed writes)."""
    writes = failed = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        token = _call(client, LOGIN, {"password": password}, None)["login"]["token"]
        nodes = _call(client, EXTENSIONS, {}, token)["devices"]["nodes"]
        extensions = [node["extension"]["id"] for node in nodes]
        for n in itertools.count():
            if done.is_set():
                break
            extension = random.choice(extensions)
            if n % 2:
                variables: dict[str, Any] = {"id": extension, "name": f"Soak{n}"}
                payload = _call(client, PROVISION, variables, token)["provisionDevice"]
            else:
                variables = {"id": extension, "dtmf": random.choice(["RFC2833", "INFO"])}
                payload = _call(client, UPDATE_SIP, variables, token)["updateSipPreferences"]
            writes += 1
            failed += bool(payload["userErrors"])
            time.sleep(0.05)  # an operator's pace, not a second flood
    return writes, failed


def _call(
    client: httpx.Client, query: str, variables: dict[str, Any], token: str | None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data
