"""GraphQL operations counted by type, name and outcome, and their latency as a histogram.

Fed from the same place as the operation's log line (`GraphQLEndpoint.execute_single`).
The operation name comes from the client, anonymous callers included, and each distinct label
value is a series held in memory until the process stops (with several workers, in the shared
files until `serve` stops): unbounded, it is a leak anyone can fill. So a name is kept only if
it is a GraphQL name, cut at `MAX_NAME_CHARS`, and only the first `MAX_NAMES` distinct names a
process sees get a series of their own; later ones are counted under `(other)`. A client's
own documents are few and sent from its first minutes, so they get their own series; a flood
of invented names costs at most the cap (per worker), never more.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as CounterMetric

from magnaprov.serve.graphql_log import Operation

__all__ = [
    "ANONYMOUS",
    "INVALID",
    "LATENCY_BUCKETS",
    "MAX_NAMES",
    "MAX_NAME_CHARS",
    "OTHER",
    "GraphQLMetrics",
    "OperationNames",
]

MAX_NAMES = 100
MAX_NAME_CHARS = 64
# Neither can be a GraphQL name, so no operation can pass for them.
ANONYMOUS = "(anonymous)"
OTHER = "(other)"
INVALID = "invalid"  # the type of a document that does not parse or lacks the operation
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


class OperationNames:
    """The label of an operation's name: a GraphQL name, cut short, among a bounded set."""

    def __init__(self, limit: int = MAX_NAMES) -> None:
        self._limit = limit
        self._known: set[str] = set()

    def label(self, name: str | None) -> str:
        """`name` as a label value: itself (cut), `(anonymous)` or `(other)`."""
        if name is None:
            return ANONYMOUS
        name = name[:MAX_NAME_CHARS]
        if name in self._known:
            return name
        if len(self._known) >= self._limit or _NAME.fullmatch(name) is None:
            return OTHER
        self._known.add(name)
        return name


class GraphQLMetrics:
    """The operation counter and latency histogram of one process."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self._names = OperationNames()
        self._operations = CounterMetric(
            "magnaprov_graphql_operations",
            "GraphQL operations by type, operation name and outcome (ok, user_errors, errors).",
            ("type", "operation", "outcome"),
            registry=registry,
        )
        self._seconds = Histogram(
            "magnaprov_graphql_operation_seconds",
            "Time to execute a GraphQL operation, by type and operation name.",
            ("type", "operation"),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def observe(self, operation: Operation, seconds: float, outcome: str) -> None:
        """Count one operation that took `seconds` and ended with `outcome`."""
        kind = operation.kind or INVALID
        name = self._names.label(operation.name)
        self._operations.labels(kind, name, outcome).inc()
        self._seconds.labels(kind, name).observe(seconds)
