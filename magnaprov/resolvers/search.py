"""The `search` argument of list queries: a case-insensitive substring match."""

from __future__ import annotations

__all__ = ["like_pattern"]


def like_pattern(text: str) -> str:
    """A LIKE pattern (escape character backslash) matching `text` anywhere, literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.strip().casefold()}%"
