"""Last contact of each device (time, address, User-Agent, firmware) without a write per fetch.

A fetch only records the contact in memory, the latest per device (so memory is bounded by the
number of devices that fetched since the last flush). A background task writes the buffer
every `interval_seconds` in one batched UPDATE (an executemany of at most `BATCH_SIZE` rows per
statement), and once more when the app stops. A failed flush keeps its rows for the next one,
unless a newer contact of the same device arrived meanwhile. Several processes may flush the
same device: the UPDATE never moves a last contact back in time.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import UTC, datetime
from typing import NamedTuple, cast

from sqlalchemy import Table, bindparam, or_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.db import Device
from magnaprov.serve.user_agents import parse_user_agent

__all__ = ["BATCH_SIZE", "Contact", "ContactRecorder"]

log = logging.getLogger("magnaprov.contacts")

BATCH_SIZE = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DEVICE = cast(Table, Device.__table__)


class Contact(NamedTuple):
    """One fetch by a device, as recorded (a tuple: one is made per fetch)."""

    at: float  # seconds since the epoch; made a datetime at flush, not per fetch
    address: str | None
    user_agent: str | None


class ContactRecorder:
    """Buffers each device's latest contact and writes the buffer in batches."""

    def __init__(self, engine: AsyncEngine, interval_seconds: float = 5.0) -> None:
        # Take SQLite's write lock up front so a flush queues behind writers instead of failing.
        self._engine = engine.execution_options(sqlite_begin="IMMEDIATE")
        self._interval = interval_seconds
        self._pending: dict[int, Contact] = {}
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
        self._pending[device_id] = Contact(time.time(), address, user_agent)

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
        """Write every buffered contact; returns how many devices were written."""
        async with self._lock:
            batch, self._pending = self._pending, {}
            if not batch:
                return 0
            contacts = list(batch.items())
            try:
                async with self._engine.begin() as connection:
                    for start in range(0, len(contacts), BATCH_SIZE):
                        # Rows are built batch by batch: building ten thousand at once held
                        # the event loop (and every phone's request) for tens of milliseconds.
                        chunk = contacts[start : start + BATCH_SIZE]
                        await connection.execute(_UPDATE, [_row(*entry) for entry in chunk])
            except (SQLAlchemyError, OSError, TimeoutError) as error:
                self.failed_flushes += 1
                log.warning("last contacts not written, will retry: %s", type(error).__name__)
                for device_id, contact in batch.items():
                    self._pending.setdefault(device_id, contact)
                return 0
            self.flushed_rows += len(contacts)
            return len(contacts)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()


# `updated_at` is set to itself: a contact is not a change of the device (its onupdate).
# Parameter names must differ from column names (`firmware` is one).
_UPDATE = (
    update(_DEVICE)
    .where(_DEVICE.c.id == bindparam("b_device_id"))
    .where(
        or_(
            _DEVICE.c.last_contact_at.is_(None),
            _DEVICE.c.last_contact_at < bindparam("b_at"),
        )
    )
    .values(
        last_contact_at=bindparam("b_at"),
        last_contact_address=bindparam("b_address"),
        last_contact_user_agent=bindparam("b_user_agent"),
        last_contact_firmware=bindparam("b_firmware"),
        updated_at=_DEVICE.c.updated_at,
    )
)


def _row(device_id: int, contact: Contact) -> dict[str, object]:
    agent = parse_user_agent(contact.user_agent) if contact.user_agent else None
    return {
        "b_device_id": device_id,
        "b_at": datetime.fromtimestamp(contact.at, UTC),
        "b_address": _clean(contact.address, 64),
        "b_user_agent": _clean(contact.user_agent, 512),
        "b_firmware": _clean(agent.firmware if agent else None, 64),
    }


def _clean(text: str | None, limit: int) -> str | None:
    # PostgreSQL refuses NUL in text; other controls have no business in these columns either.
    return None if text is None else _CONTROL.sub(" ", text)[:limit]
