"""Benchmark 6: every phone of the fleet boots at once against a freshly started magnaprov.

Each phone walks its vendor's boot sequence (`bench.boot_sequences`) once, on its own
keep-alive connection from its own loopback address (127.100.0.0/16 and up), so the scanning
defence sees one miss per address, as it would from real phones, and is left at its default
threshold. `connections` phones boot at a time; the server starts with an empty cache, so every
phone's first request reads the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.boot_sequences import boot_sequence
from bench.fleet import FleetDevice
from bench.load import LoadResult, sequence_load
from bench.processes import free_port
from bench.servers import magnaprov_server

__all__ = ["BootStormResult", "measure_boot_storm", "phone_address"]


@dataclass(frozen=True, slots=True)
class BootStormResult:
    """The storm as the phones saw it, and the server's peak RSS."""

    load: LoadResult
    phones: int
    misses_sent: int
    peak_rss_mib: float

    @property
    def files(self) -> int:
        """Files served (200)."""
        return self.load.statuses.get("200", 0)

    @property
    def files_per_second(self) -> float:
        """Files served per second of the whole storm."""
        return self.files / self.load.seconds if self.load.seconds else 0.0

    @property
    def misses(self) -> int:
        """404s (the deliberate misses when nothing went wrong)."""
        return self.load.statuses.get("404", 0)

    @property
    def errors(self) -> int:
        """Any answer but the one expected (200, or 404 for a miss), or a broken connection."""
        return self.load.unexpected + self.load.socket_errors


def phone_address(index: int) -> str:
    """A loopback address of its own for phone `index`."""
    return f"127.{100 + (index >> 16)}.{(index >> 8) & 255}.{index & 255}"


def measure_boot_storm(
    database_url: str, devices: Sequence[FleetDevice], *, connections: int, folder: Path
) -> BootStormResult:
    """Boot every device once, `connections` at a time, on a magnaprov started for it."""
    sequences = [boot_sequence(device, phone_address(n)) for n, device in enumerate(devices)]
    # Readiness is probed with a path no phone asks for, so the cache starts empty.
    with magnaprov_server(database_url, folder / "storm", free_port(), "/healthz") as server:
        load = sequence_load(server.port, sequences, connections=connections, folder=folder)
        peak = server.peak_rss_mib()
    return BootStormResult(load, len(devices), len(devices), peak)
