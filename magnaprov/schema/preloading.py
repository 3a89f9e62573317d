"""Resolving related objects without an awaitable per field when lists preloaded them.

graphql-core resolves a list of objects much faster when their fields are plain values: every
awaitable field makes it gather futures for the whole list. List resolvers therefore batch-load
related rows up front (one DataLoader call per kind) and hand them to the objects they build;
a field then returns the preloaded value directly, and only when nothing was preloaded does it
return an awaitable, which graphql-core awaits like an async resolver's result.

Such a field declares where its preloaded value lives with `metadata=preloaded_from(...)`, so
that lists of these objects complete without calling the resolver (`schema/list_execution.py`).
The resolver must return exactly that attribute whenever it is not `NOT_LOADED`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar, cast

__all__ = ["NOT_LOADED", "PRELOADED_FROM", "NotLoaded", "deferred", "preloaded_from"]

T = TypeVar("T")
PRELOADED_FROM = "magnaprov.preloaded_from"


class NotLoaded:
    """Marks a related object the list resolver did not preload."""


NOT_LOADED = NotLoaded()


def deferred(awaitable: Awaitable[T]) -> T:
    """Return `awaitable` from a resolver declared to return `T`; the executor awaits it."""
    return cast(T, awaitable)


def preloaded_from(attribute: str) -> dict[str, str]:
    """Field metadata: the resolver returns `attribute` of the object when it is loaded."""
    return {PRELOADED_FROM: attribute}
