"""/metrics in the Prometheus text format (version 0.0.4), through prometheus-client.

The device routes are the hot path: a prometheus-client counter takes a lock on every `inc`
(and, with several workers, writes a memory-mapped file), so those counts, and the ones the
miss guard, file store and contact recorder keep, stay plain integers where they are counted.
`ServeMetrics.publish` moves them into prometheus-client's metrics: before each scrape, and
with several workers every `PUBLISH_SECONDS` too, since a scrape is answered by one worker
and reads the others' values from the shared folder (`shared_metrics`). A count of another
worker is thus at most that old; it never goes down.

Each app has its own registry when it serves alone (tests build many apps in one process);
with several workers the metrics register nowhere and the scrape reads the shared folder.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from prometheus_client import CollectorRegistry, Gauge, disable_created_metrics, generate_latest
from prometheus_client import Counter as CounterMetric
from starlette.requests import Request
from starlette.responses import Response

from magnaprov.serve.contact_recorder import ContactRecorder
from magnaprov.serve.file_store import FileStore
from magnaprov.serve.miss_guard import MissGuard
from magnaprov.serve.shared_metrics import (
    reap_dead_workers,
    register_worker,
    retire_worker,
    shared_registry,
)

__all__ = ["CONTENT_TYPE", "PUBLISH_SECONDS", "MetricsExposition", "ServeMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PUBLISH_SECONDS = 1.0
_METHODS = frozenset({"GET", "HEAD", "PUT"})
_RequestKey = tuple[str, str, int]
_GaugeMode = Literal["livesum", "livemin"]  # how several workers' values combine


class MetricsExposition:
    """Where this process's metrics register, and the text `/metrics` answers.

    `folder` is the shared folder of several workers (`shared_metrics.shared_folder()`), or
    None for a process serving alone."""

    def __init__(self, folder: Path | None) -> None:
        # `_created` samples exist only for one process: without them both modes read alike.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.folder = folder
        self._own = CollectorRegistry()
        self.registry = self._own if folder is None else None
        self._publishers: list[Callable[[], None]] = []

    def add_publisher(self, publish: Callable[[], None]) -> None:
        """Run `publish` before each scrape (and periodically with several workers)."""
        self._publishers.append(publish)

    def publish(self) -> None:
        """Move every plain count into the metrics (and so, with workers, the shared files)."""
        for publish in self._publishers:
            publish()

    def text(self) -> bytes:
        """Every metric, of this process or of every worker, in the exposition format."""
        self.publish()
        if self.folder is None:
            return generate_latest(self._own)
        reap_dead_workers(self.folder)
        return generate_latest(shared_registry(self.folder))

    def start(self) -> None:
        """Join the shared folder (nothing to do when serving alone)."""
        if self.folder is not None:
            register_worker(self.folder)
        self.publish()

    def stop(self) -> None:
        """Publish the last counts and leave the folder: live gauges drop out of the sums."""
        self.publish()
        if self.folder is not None:
            retire_worker(self.folder, os.getpid())

    async def publish_periodically(self) -> None:
        """With several workers, keep this one's counts at most `PUBLISH_SECONDS` old."""
        if self.folder is None:
            return
        while True:
            await asyncio.sleep(PUBLISH_SECONDS)
            self.publish()

    def endpoint(self) -> Callable[[Request], Awaitable[Response]]:
        """The Starlette endpoint of `/metrics`."""

        async def endpoint(_request: Request) -> Response:
            return Response(self.text(), media_type=None, headers={"content-type": CONTENT_TYPE})

        return endpoint


@dataclass(slots=True)
class _Published:
    """A prometheus-client counter fed from a plain count: what it was last given."""

    metric: CounterMetric
    read: Callable[[], int]
    given: int = field(default=0)

    def publish(self) -> None:
        value = self.read()
        if value > self.given:
            self.metric.inc(value - self.given)
            self.given = value


class ServeMetrics:
    """Request counts of the device routes, and the counts and gauges of the serving parts."""

    def __init__(
        self,
        guard: MissGuard,
        store: FileStore,
        contacts: ContactRecorder,
        exposition: MetricsExposition,
    ) -> None:
        self._requests: Counter[_RequestKey] = Counter()
        self._given: dict[_RequestKey, int] = {}
        registry = exposition.registry
        self._request_metric = CounterMetric(
            "magnaprov_device_requests",
            "Device route requests by route template, method and status.",
            ("route", "method", "status"),
            registry=registry,
        )
        self._counters = [
            _Published(CounterMetric(f"magnaprov_{name}", text, registry=registry), read)
            for name, text, read in _counters(self._requests, guard, store, contacts)
        ]
        self._gauges = [
            (Gauge(f"magnaprov_{name}", text, registry=registry, multiprocess_mode=mode), read)
            for name, text, mode, read in _gauges(store, contacts)
        ]
        exposition.add_publisher(self.publish)

    def count_request(self, route: str, method: str, status: int) -> None:
        """One answered request of a device route."""
        self._requests[(route, method if method in _METHODS else "OTHER", status)] += 1

    def publish(self) -> None:
        """Move the plain counts into the metrics."""
        for key, count in self._requests.items():
            given = self._given.get(key, 0)
            if count > given:
                route, method, status = key
                self._request_metric.labels(route, method, str(status)).inc(count - given)
                self._given[key] = count
        for counter in self._counters:
            counter.publish()
        for gauge, read in self._gauges:
            gauge.set(read())


def _counters(
    requests: Counter[_RequestKey], guard: MissGuard, store: FileStore, contacts: ContactRecorder
) -> list[tuple[str, str, Callable[[], int]]]:
    stats, misses = store.stats, guard.counters
    return [
        ("device_not_modified_total", "Answers 304 Not Modified.",
         lambda: sum(n for (_, _, status), n in requests.items() if status == 304)),
        ("device_misses_total", "Misses counted by the scanning defence.", lambda: misses.misses),
        ("device_bans_total", "Addresses banned for scanning.", lambda: misses.bans),
        ("file_regenerations_total",
         "Devices whose files were re-rendered or removed, as announced to each serving process.",
         lambda: stats.invalidated_devices),
        ("file_cache_full_invalidations_total",
         "Times a file cache was dropped whole (deletions, preferences, reconnections).",
         lambda: stats.full_invalidations),
        ("file_cache_hits_total", "Look-ups answered from the cache.", lambda: stats.hits),
        ("file_cache_loads_total", "Look-ups answered from the database.", lambda: stats.loads),
        ("file_store_reads_total",
         "Statements that loaded devices (look-ups arriving together share one).",
         lambda: stats.reads),
        ("file_cache_stale_served_total",
         "Look-ups answered from the cache because the database was unreachable.",
         lambda: stats.stale_served),
        ("file_store_unavailable_total",
         "Look-ups that failed: database unreachable and nothing cached.",
         lambda: stats.unavailable),
        ("contacts_written_total", "Last contacts written.", lambda: contacts.flushed_rows),
        ("contact_flush_failures_total", "Flushes that failed (retried later).",
         lambda: contacts.failed_flushes),
    ]  # fmt: skip


def _gauges(
    store: FileStore, contacts: ContactRecorder
) -> list[tuple[str, str, _GaugeMode, Callable[[], float]]]:
    # With several workers: sizes and backlogs add up over the live workers; the listener is
    # up only when it is up in every one of them (each has its own connection).
    return [
        ("file_cache_devices", "Devices held in the file caches.", "livesum",
         lambda: store.entries),
        ("file_cache_bytes", "Approximate bytes held by the file caches.", "livesum",
         lambda: store.cached_bytes),
        ("file_change_listener_up",
         "Whether the PostgreSQL LISTEN connection is up, in every worker (PostgreSQL only).",
         "livemin", lambda: int(store.listening)),
        ("contacts_pending", "Last contacts waiting for the next flush.", "livesum",
         lambda: contacts.pending),
    ]  # fmt: skip
