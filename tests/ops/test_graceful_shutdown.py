"""SIGTERM to `magnaprov serve`: the request in flight is answered, the buffered last contacts
are written, and the process exits 0 within a bound.

The request in flight is a real mutation made slow for real: the test holds a write on the row
it changes (a row lock on PostgreSQL, the write lock on SQLite), sends SIGTERM while the server
waits for it, and only then lets it through. Contacts are flushed hourly here, so only the
flush at shutdown can have written them.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from account_tree import build_tree
from live_process import graphql, serve_process, wait_until
from phones import Phone, add_phone, set_registrar
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.db import Device, SipPreferences, is_sqlite
from magnaprov.schema.node import decode_id

EXIT_BOUND_SECONDS = 10.0  # from SIGTERM to exit, the request held in flight included
HOLD_SECONDS = 1.0  # how long the in-flight request is kept waiting after SIGTERM
USER_AGENT = "Yealink SIP-T46S 66.86.0.15 00:15:65:00:00:{:02x}"
SET_DESCRIPTION = """mutation($id: ID!, $text: String!) {
  updateSipPreferences(extensionId: $id, equipmentDescription: $text) {
    sipPreferences { equipmentDescription } userErrors { code } } }"""
Served = tuple[subprocess.Popen[bytes], str]


@pytest.fixture
def served(engine: AsyncEngine, tmp_path: Path) -> Iterator[Served]:
    """`magnaprov serve` on the test's database, flushing contacts only at shutdown."""
    url = engine.url.render_as_string(hide_password=False)
    with serve_process(url, tmp_path, MAGNAPROV_CONTACT_FLUSH_SECONDS="3600") as running:
        yield running


async def arrange(gql: Any, session_factory: Any, services: Any) -> tuple[str, list[Phone]]:
    tree = await build_tree(session_factory, services)
    token = tree["o1"].token
    await set_registrar(gql, tree["admin"].token)
    phones = [
        await add_phone(gql, token, tree["u1"].gid, f"Desk {n}", f"00:15:65:00:00:{n:02x}")
        for n in range(1, 3)
    ]
    return token, phones


async def hold_row(engine: AsyncEngine, extension_id: int, release: asyncio.Event) -> None:
    """Write the row in a transaction kept open until `release` is set."""
    async with engine.connect() as connection:
        if is_sqlite(str(engine.url)):
            connection = await connection.execution_options(sqlite_begin="IMMEDIATE")
        async with connection.begin():
            await connection.execute(
                text("UPDATE sip_preferences SET forced_mwi = forced_mwi WHERE extension_id = :id"),
                {"id": extension_id},
            )
            await release.wait()


async def test_sigterm_answers_the_request_in_flight_and_writes_the_buffered_contacts(
    engine, gql, session_factory, services, served, tmp_path
):
    process, url = served
    token, phones = await arrange(gql, session_factory, services)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        await wait_until(lambda: healthy(http), 30)
        for n, phone in enumerate(phones, start=1):
            response = await http.get(phone.url, headers={"User-Agent": USER_AGENT.format(n)})
            assert response.status_code == 200
        assert await contacts(engine) == {}  # buffered, not written

        release = asyncio.Event()
        target = decode_id(phones[0].extension_id, "Extension")
        holder = asyncio.create_task(hold_row(engine, target, release))
        await asyncio.sleep(0.3)
        variables = {"id": phones[0].extension_id, "text": "Changed while stopping"}
        in_flight = asyncio.create_task(graphql(http, SET_DESCRIPTION, variables, token))
        await asyncio.sleep(0.5)
        assert not in_flight.done()  # waiting for the row

        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        await asyncio.sleep(HOLD_SECONDS)
        assert process.poll() is None, "exited with a request in flight"
        release.set()
        await holder
        answer = await in_flight
    await asyncio.to_thread(process.wait, EXIT_BOUND_SECONDS)
    assert time.monotonic() - signalled < EXIT_BOUND_SECONDS

    assert answer.payload("updateSipPreferences") == {
        "sipPreferences": {"equipmentDescription": "Changed while stopping"},
        "userErrors": [],
    }
    stored = await contacts(engine)
    for n, phone in enumerate(phones, start=1):
        at, address, agent = stored[decode_id(phone.device_id, "Device")]
        assert at is not None and address == "127.0.0.1" and agent == USER_AGENT.format(n)
    assert await description(engine, target) == "Changed while stopping"
    assert "Traceback" not in (tmp_path / "server.log").read_text()


async def test_sigterm_ends_serve_with_exit_status_0(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'magnaprov.db'}"
    with serve_process(url, tmp_path) as (process, base_url):
        async with httpx.AsyncClient(base_url=base_url) as http:
            await wait_until(lambda: healthy(http), 30)
        process.send_signal(signal.SIGTERM)
        returncode = await asyncio.to_thread(process.wait, EXIT_BOUND_SECONDS)
    assert returncode == 0, (tmp_path / "server.log").read_text()


async def healthy(http: httpx.AsyncClient) -> bool:
    return (await http.get("/healthz")).status_code == 200


async def contacts(engine: AsyncEngine) -> dict[int, tuple[Any, ...]]:
    """Last contacts written so far (time, address, User-Agent), by device id."""
    statement = select(
        Device.id,
        Device.last_contact_at,
        Device.last_contact_address,
        Device.last_contact_user_agent,
    ).where(Device.last_contact_at.is_not(None))
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    return {row[0]: tuple(row[1:]) for row in rows}


async def description(engine: AsyncEngine, extension_id: int | None) -> str | None:
    statement = select(SipPreferences.equipment_description).where(
        SipPreferences.extension_id == extension_id
    )
    async with engine.connect() as connection:
        found: str | None = await connection.scalar(statement)
        return found
