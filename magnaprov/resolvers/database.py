"""One AsyncSession per request, never used by two tasks at once.

Strawberry resolves sibling fields concurrently, and an AsyncSession must not be shared by
concurrent tasks. Every use goes through `reading()` or `writing()`, which hold one lock; batch
loaders take it for their one query, so concurrency costs nothing in statement count.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["RequestDatabase"]


class RequestDatabase:
    """Serialized access to the request's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """The session, for reads inside the request's read transaction."""
        async with self._lock:
            yield self._session

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """The session in a fresh write transaction.

        The caller commits on success; whatever is not committed when the block ends is rolled
        back, so a call that reports userErrors leaves nothing half-written. On SQLite the
        transaction begins IMMEDIATE, so concurrent writers queue instead of failing mid-way.
        """
        async with self._lock:
            session = self._session
            if session.in_transaction():
                await session.commit()  # ends the read snapshot; nothing was written in it
            await session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            try:
                yield session
            finally:
                if session.in_transaction():
                    await session.rollback()

    async def close(self) -> None:
        """Release the connection at the end of the request."""
        async with self._lock:
            await self._session.close()
