"""One AsyncSession per request, never used by two tasks at once.

Strawberry resolves sibling fields concurrently, and an AsyncSession must not be shared by
concurrent tasks. Every use goes through `reading()` or `writing()`, which hold one lock; batch
loaders take it for their one query, so concurrency costs nothing in statement count.

Both also remember what the request's answer depends on: the errors that escaped them
(`failures`: the endpoint answers 503 when one means the database was out of reach, rather than
a masked error) and how many write transactions committed (`committed_writes`: a request that
already committed a change must not be reported as failed).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from magnaprov.db import begin_writing

__all__ = ["RequestDatabase"]

_WRITING = "magnaprov_request_database"


class RequestDatabase:
    """Serialized access to the request's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._lock = asyncio.Lock()
        self.failures: list[Exception] = []
        self.committed_writes = 0

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """The session, for reads inside the request's read transaction."""
        async with self._lock:
            try:
                yield self._session
            except Exception as error:
                self.failures.append(error)
                raise

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """The session in a fresh write transaction.

        The caller commits on success; whatever is not committed when the block ends is rolled
        back, so a call that reports userErrors leaves nothing half-written. On SQLite the
        transaction begins IMMEDIATE, so concurrent writers queue instead of failing mid-way.
        """
        async with self._lock:
            session = self._session
            try:
                if session.in_transaction():
                    await session.commit()  # ends the read snapshot; nothing was written in it
                await begin_writing(session)
                session.info[_WRITING] = self
                try:
                    yield session
                finally:
                    session.info.pop(_WRITING, None)
                    if session.in_transaction():
                        await session.rollback()
            except Exception as error:
                self.failures.append(error)
                raise

    async def close(self) -> None:
        """Release the connection at the end of the request."""
        async with self._lock:
            await self._session.close()


@event.listens_for(Session, "after_commit")
def _count_committed_write(session: Session) -> None:
    database = session.info.get(_WRITING)
    if isinstance(database, RequestDatabase):
        database.committed_writes += 1
