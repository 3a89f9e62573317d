"""/metrics in the Prometheus text format (version 0.0.4), for this process.

Written by hand rather than with prometheus-client: a handful of counters and gauges whose
values mostly live in the objects that count them (miss guard, file store, contact recorder),
read when scraped; no global registry to reset between the apps that tests create. Each
worker process reports its own counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable

from starlette.requests import Request
from starlette.responses import Response

from magnaprov.serve.contact_recorder import ContactRecorder
from magnaprov.serve.file_store import FileStore
from magnaprov.serve.miss_guard import MissGuard

__all__ = ["CONTENT_TYPE", "ServeMetrics", "metrics_endpoint"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_METHODS = frozenset({"GET", "HEAD", "PUT"})


class ServeMetrics:
    """Request counts of the device routes, and the text of /metrics."""

    def __init__(self, guard: MissGuard, store: FileStore, contacts: ContactRecorder) -> None:
        self._guard, self._store, self._contacts = guard, store, contacts
        self._requests: Counter[tuple[str, str, int]] = Counter()

    def count_request(self, route: str, method: str, status: int) -> None:
        """One answered request of a device route."""
        self._requests[(route, method if method in _METHODS else "OTHER", status)] += 1

    def text(self) -> str:
        """Every metric, in the exposition format."""
        store, guard = self._store, self._guard
        not_modified = sum(n for (_, _, status), n in self._requests.items() if status == 304)
        lines: list[str] = []
        _family(
            lines,
            "magnaprov_device_requests_total",
            "counter",
            "Device route requests by route template, method and status.",
            (
                ({"route": route, "method": method, "status": str(status)}, count)
                for (route, method, status), count in sorted(self._requests.items())
            ),
        )
        for name, kind, help_text, value in (
            ("device_not_modified_total", "counter", "Answers 304 Not Modified.", not_modified),
            ("device_misses_total", "counter", "Misses counted by the scanning defence.",
             guard.counters.misses),
            ("device_bans_total", "counter", "Addresses banned for scanning.", guard.counters.bans),
            ("file_regenerations_total", "counter",
             "Devices whose files were re-rendered or removed, as announced to this process.",
             store.stats.invalidated_devices),
            ("file_cache_full_invalidations_total", "counter",
             "Times the whole file cache was dropped (deletions, preferences, reconnections).",
             store.stats.full_invalidations),
            ("file_cache_hits_total", "counter", "Look-ups answered from the cache.",
             store.stats.hits),
            ("file_cache_loads_total", "counter", "Look-ups answered from the database.",
             store.stats.loads),
            ("file_store_reads_total", "counter",
             "Statements that loaded devices (look-ups arriving together share one).",
             store.stats.reads),
            ("file_cache_stale_served_total", "counter",
             "Look-ups answered from the cache because the database was unreachable.",
             store.stats.stale_served),
            ("file_store_unavailable_total", "counter",
             "Look-ups that failed: database unreachable and nothing cached.",
             store.stats.unavailable),
            ("file_cache_devices", "gauge", "Devices held in the file cache.", store.entries),
            ("file_cache_bytes", "gauge", "Approximate bytes held by the file cache.",
             store.cached_bytes),
            ("file_change_listener_up", "gauge",
             "Whether the PostgreSQL LISTEN connection is up (PostgreSQL only).",
             int(store.listening)),
            ("contacts_pending", "gauge", "Last contacts waiting for the next flush.",
             self._contacts.pending),
            ("contacts_written_total", "counter", "Last contacts written.",
             self._contacts.flushed_rows),
            ("contact_flush_failures_total", "counter", "Flushes that failed (retried later).",
             self._contacts.failed_flushes),
        ):  # fmt: skip
            _family(lines, f"magnaprov_{name}", kind, help_text, [({}, value)])
        return "\n".join(lines) + "\n"


def metrics_endpoint(metrics: ServeMetrics) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint serving `metrics`."""

    async def endpoint(_request: Request) -> Response:
        return Response(metrics.text(), media_type=None, headers={"content-type": CONTENT_TYPE})

    return endpoint


def _family(
    lines: list[str],
    name: str,
    kind: str,
    help_text: str,
    samples: Iterable[tuple[dict[str, str], int]],
) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    for labels, value in samples:
        rendered = ",".join(f'{key}="{_escape(text)}"' for key, text in labels.items())
        lines.append(f"{name}{{{rendered}}} {value}" if rendered else f"{name} {value}")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
