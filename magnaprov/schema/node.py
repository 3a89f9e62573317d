"""Global object identification: the `Node` interface and opaque global IDs."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from magnaprov.resolvers.identifiers import parse_row_id

__all__ = [
    "Node",
    "decode_global_id",
    "decode_id",
    "encode_global_id",
    "register_node_type",
    "resolve_node",
]


@strawberry.interface(description="An object with a global ID, fetchable with `node(id)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global identifier.")


NodeFetcher = Callable[[Any, int], Awaitable[Node | None]]
_FETCHERS: dict[str, NodeFetcher] = {}


def encode_global_id(type_name: str, row_id: int) -> strawberry.ID:
    """The global ID of row `row_id` of GraphQL type `type_name`."""
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{row_id}".encode()).decode())


def decode_global_id(global_id: str, expected_type: str | None = None) -> tuple[str, int] | None:
    """(type name, row id) of a global ID, or None when it is malformed or of another type."""
    try:
        type_name, _, raw_id = base64.urlsafe_b64decode(global_id.encode()).decode().partition(":")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    row_id = parse_row_id(raw_id)
    if row_id is None or (expected_type is not None and type_name != expected_type):
        return None
    return type_name, row_id


def decode_id(global_id: str, expected_type: str) -> int | None:
    """The row id of a global ID of `expected_type`, or None (treated as "not found")."""
    decoded = decode_global_id(global_id, expected_type)
    return None if decoded is None else decoded[1]


def register_node_type(type_name: str, fetch: NodeFetcher) -> None:
    """Make objects of `type_name` reachable through `node(id)`."""
    _FETCHERS[type_name] = fetch


async def resolve_node(info: Any, global_id: str) -> Node | None:
    """The object behind a global ID, if it exists and the viewer may see it."""
    decoded = decode_global_id(global_id)
    if decoded is None or decoded[0] not in _FETCHERS:
        return None
    return await _FETCHERS[decoded[0]](info, decoded[1])
