"""Keyset pagination behind every Relay connection: ordered by id, opaque cursors."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

from sqlalchemy import Select, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from magnaprov.db import tree_scoped
from magnaprov.resolvers.errors import InvalidArgument
from magnaprov.resolvers.identifiers import parse_row_id

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "CountStatement",
    "Page",
    "count_all",
    "decode_cursor",
    "encode_cursor",
    "paginate",
]

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_CURSOR_PREFIX = "cursor:"
# What counts a whole list: kept by a connection, run only if the client asks for the total.
CountStatement: TypeAlias = Select[Any]


def encode_cursor(row_id: int) -> str:
    """The opaque cursor of the row with `row_id`."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The row id inside `cursor`; an InvalidArgument when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    row_id = parse_row_id(text.removeprefix(_CURSOR_PREFIX))
    if not text.startswith(_CURSOR_PREFIX) or row_id is None:
        raise InvalidArgument("after: not a cursor returned by this API.")
    return row_id


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of rows, and how to count them all if the client asks.

    `start_after` is the row id the page began after (0: the start), the place an empty page
    that still has rows after it (`first: 0`) resumes from.
    """

    rows: list[T]
    has_next_page: bool
    has_previous_page: bool
    count_statement: CountStatement
    start_after: int = 0


async def count_all(session: AsyncSession, count_statement: CountStatement) -> int:
    """How many rows a page's `count_statement` counts, across all pages."""
    return int((await session.execute(count_statement)).scalar_one())


async def paginate(
    session: AsyncSession,
    statement: Select[T],
    key: InstrumentedAttribute[int],
    first: int | None,
    after: str | None,
    *,
    tuples: bool = False,
) -> Page[T]:
    """The page of `statement` after the cursor `after`, at most `first` rows.

    Rows are the statement's first column (an ORM object), or with `tuples` whole result
    rows, read as plain rows on the session's connection (within its tenant scope).
    """
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise InvalidArgument(f"first: must be between 0 and {MAX_PAGE_SIZE}.")
    count_statement = statement.with_only_columns(
        func.count(key), maintain_column_froms=True
    ).order_by(None)
    start_after = 0 if after is None else decode_cursor(after)
    if after is not None:
        statement = statement.where(key > start_after)
    statement = statement.order_by(key).limit(size + 1)
    rows: list[Any]
    if tuples:
        connection = await session.connection()
        rows = list((await connection.execute(tree_scoped(session.sync_session, statement))).all())
    else:
        rows = list((await session.scalars(statement)).all())
    return Page(rows[:size], len(rows) > size, after is not None, count_statement, start_after)
