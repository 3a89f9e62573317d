"""Last contacts: written in batches, cleaned, never moved back in time, kept across a failed
flush; on each database with its own statement (arrays on PostgreSQL, executemany on SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from account_tree import build_tree
from device_fixtures import provision
from extension_fixtures import create_extension
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine
from switchable_database import switchable_engine

from magnaprov.db import Device, is_sqlite
from magnaprov.schema.node import decode_id
from magnaprov.serve.contact_recorder import ContactRecorder

MORNING = datetime(2026, 11, 26, 8, 0, tzinfo=UTC).timestamp()
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC).timestamp()
EVENING = datetime(2026, 11, 26, 18, 0, tzinfo=UTC).timestamp()
YEALINK_UA = "Yealink SIP-T46S 66.86.0.15 00:15:65:0a:00:01"


class Clock:
    """A settable clock for the recorder's contact times."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def device_ids(gql: Any, session_factory: Any, services: Any) -> list[int]:
    """Three provisioned Yealink phones of one organization."""
    tree = await build_tree(session_factory, services)
    ids = []
    for number in range(3):
        created = await create_extension(gql, tree["o1"].token, tree["u1"].gid, f"Desk {number}")
        payload = await provision(
            gql, tree["o1"].token, created["extension"]["id"], f"00:15:65:0a:00:{number:02x}"
        )
        assert payload["userErrors"] == [], payload
        ids.append(decode_id(payload["device"]["id"], "Device"))
    return ids


async def stored(session_factory: Any, device_id: int) -> Device:
    async with session_factory() as session:
        device = await session.get(Device, device_id)
        assert device is not None
        return device


@contextmanager
def executions(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """The statements sent meanwhile, each with its execution context (an executemany counts
    once)."""
    sent: list[tuple[str, Any]] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, *_: Any):
        sent.append((statement, context))

    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", on_execute)


def updates(sent: list[tuple[str, Any]]) -> list[str]:
    return [statement for statement, _context in sent if statement.startswith("UPDATE")]


def device_ids_written(sent: list[tuple[str, Any]]) -> list[int]:
    """The device ids of the contact UPDATEs, in the order they were sent."""
    written: list[int] = []
    for statement, context in sent:
        if statement.startswith("UPDATE"):
            for parameters in context.compiled_parameters:
                ids = parameters["b_device_id"]  # one id per row, or the array of a batch
                written.extend(ids if isinstance(ids, (list, tuple)) else [ids])
    return written


async def test_a_flush_writes_every_device_batch_by_batch_and_cleans_what_it_stores(
    engine, session_factory, device_ids
):
    first, second, third = device_ids
    before = {i: (await stored(session_factory, i)).updated_at for i in device_ids}
    recorder = ContactRecorder(engine, 3600, batch_size=2, clock=Clock(NOON))
    recorder.record(first, "198.51.100.7", YEALINK_UA)
    recorder.record(second, "2001:db8::7\x00", "Bad\x00agent\x1b[31m" + "x" * 600)
    recorder.record(third, None, None)
    with executions(engine) as sent:
        assert await recorder.flush() == 3
    assert recorder.pending == 0 and recorder.flushed_rows == 3
    sent_updates = updates(sent)
    assert len(sent_updates) == 2  # three devices in batches of two
    if not is_sqlite(str(engine.url)):
        assert "unnest" in sent_updates[0]  # one statement per batch, not one execution per row

    one, two, three = [await stored(session_factory, i) for i in device_ids]
    assert one.last_contact_at == datetime.fromtimestamp(NOON, UTC)
    assert one.last_contact_address == "198.51.100.7"
    assert one.last_contact_user_agent == YEALINK_UA
    assert one.last_contact_firmware == "66.86.0.15"
    assert two.last_contact_address == "2001:db8::7 "
    assert two.last_contact_user_agent == ("Bad agent [31m" + "x" * 600)[:512]
    assert two.last_contact_firmware is None
    assert three.last_contact_at == datetime.fromtimestamp(NOON, UTC)
    assert three.last_contact_address is None and three.last_contact_user_agent is None
    # A contact is not a change of the device.
    assert {d.id: d.updated_at for d in (one, two, three)} == before


async def test_an_older_contact_never_replaces_a_newer_one(engine, session_factory, device_ids):
    device_id = device_ids[0]
    # Two workers saw the same phone; the one holding the later contact flushes first.
    later = ContactRecorder(engine, 3600, clock=Clock(EVENING))
    earlier = ContactRecorder(engine, 3600, clock=Clock(MORNING))
    later.record(device_id, "198.51.100.2", "Yealink SIP-T46S 66.86.0.20 00:15:65:0a:00:00")
    earlier.record(device_id, "198.51.100.1", "Yealink SIP-T46S 66.86.0.15 00:15:65:0a:00:00")
    assert await later.flush() == 1
    await earlier.flush()
    device = await stored(session_factory, device_id)
    assert device.last_contact_at == datetime.fromtimestamp(EVENING, UTC)
    assert (device.last_contact_address, device.last_contact_firmware) == (
        "198.51.100.2",
        "66.86.0.20",
    )
    # The same instant does not rewrite it either; a later one does.
    same = ContactRecorder(engine, 3600, clock=Clock(EVENING))
    same.record(device_id, "198.51.100.3", None)
    await same.flush()
    assert (await stored(session_factory, device_id)).last_contact_address == "198.51.100.2"
    next_day = ContactRecorder(engine, 3600, clock=Clock(EVENING + 86_400))
    next_day.record(device_id, "198.51.100.4", None)
    await next_day.flush()
    device = await stored(session_factory, device_id)
    assert device.last_contact_address == "198.51.100.4"
    assert device.last_contact_user_agent is None


async def test_a_failed_flush_keeps_its_contacts_unless_newer_ones_arrived(
    settings, session_factory, device_ids
):
    first, second, _ = device_ids
    flaky, state = switchable_engine(settings.database_url)
    clock = Clock(MORNING)
    recorder = ContactRecorder(flaky, 3600, clock=clock)
    try:
        recorder.record(first, "198.51.100.1", None)
        recorder.record(second, "198.51.100.1", None)
        state["down"] = True
        assert await recorder.flush() == 0
        assert recorder.failed_flushes == 1 and recorder.pending == 2
        clock.now = NOON
        recorder.record(second, "198.51.100.2", None)  # newer than the one that failed
        state["down"] = False
        assert await recorder.flush() == 2
    finally:
        await flaky.dispose()
    one, two = await stored(session_factory, first), await stored(session_factory, second)
    assert (one.last_contact_at, one.last_contact_address) == (
        datetime.fromtimestamp(MORNING, UTC),
        "198.51.100.1",
    )
    assert (two.last_contact_at, two.last_contact_address) == (
        datetime.fromtimestamp(NOON, UTC),
        "198.51.100.2",
    )


async def test_the_contact_of_a_deleted_device_is_skipped(engine, session_factory, device_ids):
    recorder = ContactRecorder(engine, 3600, clock=Clock(NOON))
    for device_id in device_ids:
        recorder.record(device_id, "198.51.100.9", YEALINK_UA)
    # Deleted since its fetch: nothing to update, and no reason to fail the others.
    recorder.record(max(device_ids) + 1000, "198.51.100.9", YEALINK_UA)
    assert await recorder.flush() == 4
    async with session_factory() as session:
        addresses = await session.scalars(
            select(Device.last_contact_address).where(Device.id.in_(device_ids))
        )
        assert list(addresses) == ["198.51.100.9"] * 3


async def test_the_same_phone_again_within_the_resolution_is_not_written_again(
    engine, session_factory, device_ids
):
    first, second, _ = device_ids
    clock = Clock(NOON)
    recorder = ContactRecorder(engine, 3600, 60, clock=clock)
    recorder.record(first, "198.51.100.1", YEALINK_UA)
    recorder.record(second, "198.51.100.1", YEALINK_UA)
    assert await recorder.flush() == 2

    clock.now = NOON + 30  # polling again: nothing new about the first; the second moved
    recorder.record(first, "198.51.100.1", YEALINK_UA)
    recorder.record(second, "198.51.100.2", YEALINK_UA)
    with executions(engine) as sent:
        assert await recorder.flush() == 1
    assert len(updates(sent)) == 1
    one, two = await stored(session_factory, first), await stored(session_factory, second)
    assert one.last_contact_at == datetime.fromtimestamp(NOON, UTC)
    assert (two.last_contact_at, two.last_contact_address) == (
        datetime.fromtimestamp(NOON + 30, UTC),
        "198.51.100.2",
    )

    clock.now = NOON + 30  # nothing at all is news: no statement, no transaction
    recorder.record(first, "198.51.100.1", YEALINK_UA)
    with executions(engine) as sent:
        assert await recorder.flush() == 0
    assert sent == []

    clock.now = NOON + 60  # a resolution after the one written
    recorder.record(first, "198.51.100.1", YEALINK_UA)
    assert await recorder.flush() == 1
    one = await stored(session_factory, first)
    assert one.last_contact_at == datetime.fromtimestamp(NOON + 60, UTC)

    clock.now = NOON + 61  # a firmware upgrade changes the agent: written at once
    upgraded = YEALINK_UA.replace("66.86.0.15", "66.86.0.20")
    recorder.record(first, "198.51.100.1", upgraded)
    assert await recorder.flush() == 1
    assert (await stored(session_factory, first)).last_contact_firmware == "66.86.0.20"


async def test_a_resolution_of_zero_writes_every_contact(engine, session_factory, device_ids):
    clock = Clock(NOON)
    recorder = ContactRecorder(engine, 3600, 0, clock=clock)
    for step in range(3):
        clock.now = NOON + step
        recorder.record(device_ids[0], "198.51.100.1", YEALINK_UA)
        assert await recorder.flush() == 1
    device = await stored(session_factory, device_ids[0])
    assert device.last_contact_at == datetime.fromtimestamp(NOON + 2, UTC)


async def test_devices_are_written_in_id_order_so_workers_lock_rows_alike(engine, device_ids):
    recorder = ContactRecorder(engine, 3600, batch_size=2, clock=Clock(NOON))
    for device_id in reversed(device_ids):
        recorder.record(device_id, "198.51.100.9", None)
    with executions(engine) as sent:
        assert await recorder.flush() == 3
    assert device_ids_written(sent) == sorted(device_ids)
