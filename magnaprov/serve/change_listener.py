"""The LISTEN connection that keeps a process's file cache fresh on PostgreSQL.

PostgreSQL delivers `pg_notify` payloads only when the announcing transaction commits, and
delivers them to a listener before the answer to any query sent after that commit. So after a
`SELECT 1` round trip on this connection, every change committed before the round trip began
has been announced here. The keepalive uses `sync()` to prove the connection alive; requests
trust the cache while it is up, without a round trip of their own (see `file_store`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from magnaprov.db.file_changes import FILES_CHANNEL

__all__ = ["LISTENER_NAME", "ChangeListener"]

log = logging.getLogger("magnaprov.file_store")
_CONNECTION_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
# How the LISTEN connections show in pg_stat_activity.
LISTENER_NAME = "magnaprov-file-listener"


class ChangeListener:
    """One LISTEN connection: evicts on notifications, and proves it has seen every earlier one.

    `sync()` returns once a `SELECT 1` sent after the call has come back on this connection;
    callers arriving while one is in flight wait for the next one, so each caller's round trip
    started after it arrived, and one round trip serves everyone who was waiting.
    """

    def __init__(
        self,
        dsn: str,
        *,
        on_payload: Callable[[str], None],
        on_connected: Callable[[], None],
        timeout: float,
        retry_seconds: float = 1.0,
        keepalive_seconds: float = 10.0,
    ) -> None:
        self._dsn, self._timeout = dsn, timeout
        self._on_payload, self._on_connected = on_payload, on_connected
        self._retry, self._keepalive = retry_seconds, keepalive_seconds
        self._connection: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next: asyncio.Future[None] | None = None
        self._pinger: asyncio.Task[None] | None = None
        self.connected = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="magnaprov-file-listener")

    async def stop(self) -> None:
        for task in (self._task, self._pinger):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self._close()

    async def sync(self) -> bool:
        """True once every notification committed before this call has been handled."""
        if not self.connected:
            return False
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            self._next.add_done_callback(_retrieve)
            if self._pinger is None or self._pinger.done():
                self._pinger = asyncio.create_task(self._ping_rounds())
        try:
            await asyncio.shield(self._next)
        except Exception:  # the round trip failed: _ping_rounds dropped the connection
            return False
        return True

    async def _ping_rounds(self) -> None:
        while self._next is not None:
            round_, self._next = self._next, None
            try:
                if self._connection is None:
                    raise asyncpg.InterfaceError("not connected")
                await asyncio.wait_for(self._connection.fetchval("SELECT 1"), self._timeout)
            except Exception as error:  # whatever broke the round trip, the connection is suspect
                self._drop()
                round_.set_exception(error)
            else:
                round_.set_result(None)

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except _CONNECTION_ERRORS as error:
                log.warning("file change listener disconnected: %s", type(error).__name__)
            finally:
                self.connected = False
                await self._close()
            await asyncio.sleep(self._retry)

    async def _listen(self) -> None:
        self._lost.clear()
        connection = await asyncpg.connect(
            self._dsn, timeout=self._timeout, server_settings={"application_name": LISTENER_NAME}
        )
        self._connection = connection
        await connection.add_listener(FILES_CHANNEL, self._notification)
        connection.add_termination_listener(lambda _connection: self._drop())
        # Changes made while nobody listened were never announced to this process.
        self._on_connected()
        self.connected = True
        while not self._lost.is_set():
            try:
                await asyncio.wait_for(self._lost.wait(), self._keepalive)
            except TimeoutError:
                await self.sync()

    def _notification(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self._on_payload(payload)

    def _drop(self) -> None:
        self.connected = False
        self._lost.set()

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            connection.terminate()


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()  # marks it retrieved even when every waiter gave up
