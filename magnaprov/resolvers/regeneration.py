"""`magnaprov regenerate`: re-render many devices in bulk, one transaction per chunk."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from magnaprov.db import Device, begin_writing
from magnaprov.resolvers.rendering import CHUNK_SIZE, RenderReport, render_devices
from magnaprov.tenancy import SecretBox

__all__ = ["BulkSummary", "count_devices", "regenerate_in_bulk"]


@dataclass(frozen=True, slots=True)
class BulkSummary:
    """What a bulk run did and how long it took."""

    report: RenderReport
    seconds: float


def _device_ids(template_id: int | None) -> Select[int]:
    statement = select(Device.id).order_by(Device.id)
    if template_id is not None:
        statement = statement.where(Device.template_id == template_id)
    return statement


async def count_devices(session: AsyncSession, template_id: int | None = None) -> int:
    """How many devices a bulk run would render."""
    statement = _device_ids(template_id).order_by(None).subquery()
    return int(await session.scalar(select(func.count()).select_from(statement)) or 0)


async def regenerate_in_bulk(
    session_factory: async_sessionmaker[AsyncSession],
    secrets: SecretBox,
    *,
    template_id: int | None = None,
    on_progress: Callable[[int], None] = lambda _done: None,
) -> BulkSummary:
    """Re-render every device (or every device of one template), chunk by chunk.

    Each chunk commits on its own, so a run over ten thousand devices never holds one long
    transaction, and a failing template on one device is reported without stopping the rest.
    """
    started = time.perf_counter()
    async with session_factory() as session:
        device_ids = list(await session.scalars(_device_ids(template_id)))
    report = RenderReport()
    for start in range(0, len(device_ids), CHUNK_SIZE):
        chunk = device_ids[start : start + CHUNK_SIZE]
        async with session_factory() as session:
            # On SQLite the write lock is taken up front, as the server's writers take it: a
            # chunk that read first would fail, not wait, when a writer commits meanwhile.
            await begin_writing(session)
            report.add(await render_devices(session, secrets, chunk))
            await session.commit()
        on_progress(len(chunk))
    return BulkSummary(report, time.perf_counter() - started)
