"""Last contact of each device (time, address, User-Agent, firmware) without a write per fetch.

A fetch only records the contact in memory, the latest per device (so memory is bounded by the
number of devices that fetched since the last flush). A background task writes the buffer
every `interval_seconds`, and once more when the app stops, in one transaction of statements of
at most `BATCH_SIZE` devices each, in device order (so that two workers flushing the same
devices lock their rows in the same order). A failed flush keeps its rows for the next one,
unless a newer contact of the same device arrived meanwhile. Several processes may flush the
same device: the UPDATE never moves a last contact back in time.

The stored time is precise to `resolution_seconds`: a contact from the address and with the
User-Agent this process last wrote for the device, less than that after it, is not written
again (a phone booting fetches several files within seconds; one polling again and again
would otherwise cost a row update per flush). A new address or agent is written at once.

On PostgreSQL a batch is one `UPDATE ... FROM unnest(<arrays>)`: an executemany there costs the
server a bind and an execution per row, about 50 us each. SQLite, in process, takes an
executemany at little cost per row.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import cast

from sqlalchemy import DateTime, Integer, String, Table, Update, bindparam, func, or_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from magnaprov.db import WRITER, Device
from magnaprov.serve.user_agents import parse_user_agent

__all__ = ["BATCH_SIZE", "Contact", "ContactRecorder"]

log = logging.getLogger("magnaprov.contacts")

BATCH_SIZE = 1000
# Devices whose last written contact is remembered; past that the memory starts afresh.
MAX_REMEMBERED = 200_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DEVICE = cast(Table, Device.__table__)


# One fetch by a device: seconds since the epoch (made a datetime at flush, not per fetch),
# address and User-Agent. A plain tuple: one is made per fetch, and a NamedTuple's
# constructor costs a Python call.
Contact = tuple[float, str | None, str | None]


class ContactRecorder:
    """Buffers each device's latest contact and writes the buffer in batches."""

    def __init__(
        self,
        engine: AsyncEngine,
        interval_seconds: float = 5.0,
        resolution_seconds: float = 0.0,
        *,
        batch_size: int = BATCH_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Take SQLite's write lock up front so a flush queues behind writers instead of failing.
        self._engine = engine.execution_options(**WRITER)
        self._postgres = engine.dialect.name == "postgresql"
        self._interval = interval_seconds
        self._resolution = resolution_seconds
        self._batch_size = batch_size
        self._clock = clock
        self._pending: dict[int, Contact] = {}
        self._written: dict[int, Contact] = {}  # what this process last wrote, per device
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.flushed_rows = 0
        self.failed_flushes = 0

    @property
    def pending(self) -> int:
        """Devices whose latest contact is not written yet."""
        return len(self._pending)

    def record(self, device_id: int, address: str | None, user_agent: str | None) -> None:
        """Remember this fetch; no I/O."""
        self._pending[device_id] = (self._clock(), address, user_agent)

    async def start(self) -> None:
        """Flush every `interval_seconds` in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="magnaprov-contact-flush")

    async def stop(self) -> None:
        """Stop the background task and write what is left."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.flush()

    async def flush(self) -> int:
        """Write every buffered contact that is news (see the module's docstring); returns how
        many devices were written."""
        async with self._lock:
            batch, self._pending = self._pending, {}
            contacts = sorted(item for item in batch.items() if self._is_news(*item))
            if not contacts:
                return 0
            try:
                async with self._engine.begin() as connection:
                    size = self._batch_size
                    for start in range(0, len(contacts), size):
                        # Rows are built batch by batch: building ten thousand at once held
                        # the event loop (and every phone's request) for tens of milliseconds.
                        await self._write(connection, contacts[start : start + size])
            except (SQLAlchemyError, OSError, TimeoutError) as error:
                self.failed_flushes += 1
                log.warning("last contacts not written, will retry: %s", type(error).__name__)
                for device_id, contact in contacts:
                    self._pending.setdefault(device_id, contact)
                return 0
            if len(self._written) + len(contacts) > MAX_REMEMBERED:
                self._written.clear()
            self._written.update(contacts)
            self.flushed_rows += len(contacts)
            return len(contacts)

    def _is_news(self, device_id: int, contact: Contact) -> bool:
        written = self._written.get(device_id)
        if written is None:
            return True
        (at, *source), (written_at, *written_source) = contact, written
        return source != written_source or at - written_at >= self._resolution

    async def _write(
        self, connection: AsyncConnection, contacts: Sequence[tuple[int, Contact]]
    ) -> None:
        rows = [_row(device_id, contact) for device_id, contact in contacts]
        if self._postgres:
            columns = zip(*rows, strict=True)
            await connection.execute(
                _UPDATE_FROM_ARRAYS, dict(zip(_ROW_FIELDS, columns, strict=True))
            )
        else:
            await connection.execute(
                _UPDATE, [dict(zip(_ROW_FIELDS, row, strict=True)) for row in rows]
            )

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()


# What `_row` returns, in order: the parameters of both statements.
_ROW_FIELDS = ("b_device_id", "b_at", "b_address", "b_user_agent", "b_firmware")
_Row = tuple[int, datetime, str | None, str | None, str | None]


def _newer_contact(
    *, device_id: object, at: object, address: object, user_agent: object, firmware: object
) -> Update:
    """The UPDATE of one device's last contact, unless the stored one is as recent or newer.

    `updated_at` is set to itself: a contact is not a change of the device (its onupdate)."""
    return (
        update(_DEVICE)
        .where(_DEVICE.c.id == device_id)
        .where(or_(_DEVICE.c.last_contact_at.is_(None), _DEVICE.c.last_contact_at < at))
        .values(
            last_contact_at=at,
            last_contact_address=address,
            last_contact_user_agent=user_agent,
            last_contact_firmware=firmware,
            updated_at=_DEVICE.c.updated_at,
        )
    )


# Parameter names must differ from column names (`firmware` is one).
_UPDATE = _newer_contact(
    device_id=bindparam("b_device_id"),
    at=bindparam("b_at"),
    address=bindparam("b_address"),
    user_agent=bindparam("b_user_agent"),
    firmware=bindparam("b_firmware"),
)
_ARRAYS = (
    func.unnest(
        bindparam("b_device_id", type_=ARRAY(Integer)),
        bindparam("b_at", type_=ARRAY(DateTime(timezone=True))),
        bindparam("b_address", type_=ARRAY(String)),
        bindparam("b_user_agent", type_=ARRAY(String)),
        bindparam("b_firmware", type_=ARRAY(String)),
    )
    .table_valued("device_id", "at", "address", "user_agent", "firmware")
    .render_derived("contact")
)
_UPDATE_FROM_ARRAYS = _newer_contact(
    device_id=_ARRAYS.c.device_id,
    at=_ARRAYS.c.at,
    address=_ARRAYS.c.address,
    user_agent=_ARRAYS.c.user_agent,
    firmware=_ARRAYS.c.firmware,
)


def _row(device_id: int, contact: Contact) -> _Row:
    at, address, user_agent = contact
    stored_agent, firmware = _agent_columns(user_agent) if user_agent else (None, None)
    return (
        device_id,
        datetime.fromtimestamp(at, UTC),
        None if address is None else _clean(address, 64),
        stored_agent,
        firmware,
    )


# Many phones put their MAC in the User-Agent, so a fleet sends about one agent per phone, the
# same one at every fetch: the cache holds a large fleet's agents (a few MB at most).
@lru_cache(maxsize=32_768)
def _agent_columns(user_agent: str) -> tuple[str, str | None]:
    """The User-Agent as stored and the firmware it names (parsing takes microseconds)."""
    agent = parse_user_agent(user_agent)
    return _clean(user_agent, 512), None if agent is None else _clean(agent.firmware, 64)


def _clean(text: str, limit: int) -> str:
    # PostgreSQL refuses NUL in text; other controls have no business in these columns either.
    return _CONTROL.sub(" ", text)[:limit]
