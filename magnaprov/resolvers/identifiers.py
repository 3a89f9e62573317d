"""Row ids read back from opaque IDs and cursors."""

from __future__ import annotations

__all__ = ["parse_row_id"]

# Primary keys are PostgreSQL INTEGER: anything larger cannot name a row.
_MAX_ROW_ID = 2**31 - 1


def parse_row_id(text: str) -> int | None:
    """The row id spelled by `text`, or None.

    ASCII digits only: "²".isdigit() is true but int() refuses it, and an id beyond INTEGER
    would fail in the database instead of reading as "not found".
    """
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        return None
    value = int(text)
    return value if value <= _MAX_ROW_ID else None
