"""PostgreSQL stopped under load and started again, with a real server process in front of it.

While the database is down the API answers 503 at once (never a hang, a 500 or a masked 200),
phones keep getting the files the server holds, and a device it does not hold gets 503. Once
the database is back everything works again without a restart, and the database holds every
write that was reported committed and no trace of any reported failed.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from account_tree import build_tree
from conftest import IN_CI, GraphQL, make_settings
from live_process import Answer, graphql, server_environment, uvicorn_process, wait_until
from pg_cluster import PostgresCluster, find_bindir
from phones import Phone, add_phone, set_registrar
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine
from stored_files import file_plaintext

from magnaprov.db import (
    Extension,
    RenderedFile,
    SipPreferences,
    create_engine,
    create_session_factory,
)
from magnaprov.db.migrations import upgrade_to_head
from magnaprov.resolvers import Services
from magnaprov.schema.node import decode_id
from magnaprov.serve.app import create_app

BOUND_SECONDS = 3.0  # the longest any answer may take, database down or not
SET_SIP = """mutation($id: ID!, $pw: String!, $text: String!) {
  updateSipPreferences(extensionId: $id, phonePassword: $pw, phonePasswordConfirmation: $pw,
                       equipmentDescription: $text) { userErrors { code } } }"""
RENAME = """mutation($id: ID!, $name: String!) {
  updateExtension(id: $id, name: $name) { userErrors { code } } }"""
VIEWER = "{ viewer { login } }"
RENAME_THEN_SET_SIP = """mutation($id: ID!, $name: String!, $pw: String!) {
  updateExtension(id: $id, name: $name) { userErrors { code } }
  updateSipPreferences(extensionId: $id, phonePassword: $pw, phonePasswordConfirmation: $pw) {
    userErrors { code } } }"""


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    bindir = find_bindir()
    if bindir is None:
        if IN_CI:
            pytest.fail("initdb and pg_ctl are required in CI")
        pytest.skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    cluster = PostgresCluster.create(bindir)
    try:
        cluster.init()
        cluster.start()
        upgrade_to_head(cluster.url)
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def server(cluster: PostgresCluster, tmp_path: Path) -> Iterator[str]:
    with uvicorn_process(server_environment(cluster.url), tmp_path) as url:
        yield url


# --- the world: phones fetched before the outage, one never fetched, lines kept written ----


@dataclass(frozen=True)
class World:
    token: str
    warm: dict[Phone, bytes]  # what each phone got before the outage
    cold: Phone
    written: list[Phone]


async def arrange(http: httpx.AsyncClient, database_url: str) -> World:
    engine = create_engine(database_url)
    services = Services.from_settings(make_settings(database_url))
    tree = await build_tree(create_session_factory(engine), services)
    await engine.dispose()
    gql, token = GraphQL(http), tree["o1"].token
    await set_registrar(gql, tree["admin"].token)
    phones = [
        await add_phone(gql, token, tree["u1"].gid, f"Line {n}", f"00:15:65:00:00:{n:02x}")
        for n in range(7)
    ]
    warm = {phone: (await http.get(phone.url)).content for phone in phones[:3]}
    assert all(b"account.1.password" in content for content in warm.values())
    return World(token, warm, phones[3], phones[4:])


# --- the load: API writes recorded with their outcome, phone fetches -------------------------


@dataclass(frozen=True)
class Write:
    phone: Phone
    kind: str  # "sip" (phone password and description) or "name"
    tag: str  # unique to this write: the value it sets
    started: float
    answer: Answer

    @property
    def committed(self) -> bool:
        """Reported committed: data, no userErrors."""
        field = "updateSipPreferences" if self.kind == "sip" else "updateExtension"
        payload = self.answer.payload(field)
        return payload is not None and payload["userErrors"] == []


@dataclass(frozen=True)
class Fetch:
    phone: Phone
    status: int
    content: bytes
    seconds: float


@dataclass
class Load:
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    writes: list[Write] = field(default_factory=list)
    fetches: list[Fetch] = field(default_factory=list)
    numbers: Iterator[int] = field(default_factory=itertools.count)


def mutation(kind: str, phone: Phone, tag: str) -> tuple[str, dict[str, Any]]:
    if kind == "sip":
        return SET_SIP, {"id": phone.extension_id, "pw": tag, "text": tag}
    return RENAME, {"id": phone.extension_id, "name": tag}


async def keep_writing(http: httpx.AsyncClient, world: World, phone: Phone, load: Load) -> None:
    """One line's writes, one after the other, alternating the two mutations."""
    for kind in itertools.cycle(("sip", "name")):
        if load.stop.is_set():
            return
        number = next(load.numbers)
        # In letters: a phone password must not contain the extension's number.
        letters = f"{number:05d}".translate(str.maketrans("0123456789", "abcdefghij"))
        tag = f"Tq{letters}-Vm8r-Ke3z" if kind == "sip" else f"Load {letters}"
        started = time.monotonic()
        answer = await graphql(http, *mutation(kind, phone, tag), world.token)
        load.writes.append(Write(phone, kind, tag, started, answer))
        await asyncio.sleep(0.02)


async def keep_fetching(http: httpx.AsyncClient, world: World, load: Load) -> None:
    while not load.stop.is_set():
        for phone in world.warm:
            started = time.monotonic()
            response = await http.get(phone.url)
            seconds = time.monotonic() - started
            load.fetches.append(Fetch(phone, response.status_code, response.content, seconds))
        await asyncio.sleep(0.02)


# --- what is observed ------------------------------------------------------------------------


def unavailable(answer: Answer) -> bool:
    errors = answer.body.get("errors") or [{}]
    code = errors[0].get("extensions", {}).get("code")
    return answer.status == 503 and code == "DATABASE_UNAVAILABLE"


async def observe_outage(http: httpx.AsyncClient, world: World) -> None:
    for phone, content in world.warm.items():
        response = await http.get(phone.url)
        assert (response.status_code, response.content) == (200, content)
    started = time.monotonic()
    assert (await http.get(world.cold.url)).status_code == 503
    assert (await http.get("/healthz")).status_code == 503
    answer = await graphql(http, VIEWER, {}, world.token)
    assert unavailable(answer), answer
    assert time.monotonic() - started < BOUND_SECONDS


async def api_works(http: httpx.AsyncClient, world: World) -> bool:
    health = await http.get("/healthz")
    answer = await graphql(http, VIEWER, {}, world.token)
    return health.status_code == 200 and answer.payload("viewer") is not None


def committed_since(load: Load, moment: float) -> set[Phone]:
    return {write.phone for write in load.writes if write.started > moment and write.committed}


def check_answers(world: World, load: Load, timeline: Timeline) -> None:
    for write in load.writes:
        assert write.committed or unavailable(write.answer), write
        assert write.answer.seconds < BOUND_SECONDS, write
        ended = write.started + write.answer.seconds
        if timeline.down < write.started and ended < timeline.restarting:
            assert not write.committed, write
    for fetch in load.fetches:
        assert (fetch.status, fetch.content) == (200, world.warm[fetch.phone]), fetch
        assert fetch.seconds < BOUND_SECONDS, fetch
    assert committed_since(load, 0) and any(not write.committed for write in load.writes)
    assert committed_since(load, timeline.up) == set(world.written)


@dataclass(frozen=True)
class Stored:
    names: dict[int, str]
    preferences: dict[int, Any]  # sip_preferences rows by extension id
    files: bytes


async def read_database(database_url: str) -> Stored:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            names = (await connection.execute(select(Extension.id, Extension.name))).all()
            preferences = (await connection.execute(select(SipPreferences))).all()
            files = await connection.execute(
                select(RenderedFile.device_id, RenderedFile.name_key, RenderedFile.content)
            )
            return Stored(
                {row.id: row.name for row in names},
                {row.extension_id: row for row in preferences},
                b"\n".join(file_plaintext(*row) for row in files),
            )
    finally:
        await engine.dispose()


def check_database(database_url: str, stored: Stored, world: World, load: Load) -> None:
    """Every committed write is there, whole (row and file); no failed write left a trace."""
    secrets = Services.from_settings(make_settings(database_url)).secrets
    for phone in world.written:
        row_id = decode_id(phone.extension_id, "Extension")
        assert row_id is not None
        mine = [write for write in load.writes if write.phone == phone and write.committed]
        password = [write.tag for write in mine if write.kind == "sip"][-1]
        name = [write.tag for write in mine if write.kind == "name"][-1]
        row = stored.preferences[row_id]
        identity = SipPreferences(extension_id=row_id).password_identity()
        assert secrets.decrypt(row.phone_password, identity) == password
        assert row.equipment_description == password
        assert f"account.1.password = {password}\n".encode() in stored.files
        assert stored.names[row_id] == name
        assert f"account.1.display_name = {name}\n".encode() in stored.files
    text = "\n".join(stored.names.values())
    text += "\n".join(row.equipment_description for row in stored.preferences.values())
    for write in load.writes:
        if not write.committed:
            assert write.tag not in text, write
            assert write.tag.encode() not in stored.files, write


@dataclass(frozen=True)
class Timeline:
    down: float  # PostgreSQL stopped
    restarting: float  # pg_ctl start called
    up: float  # pg_ctl start returned
    recovery: float  # seconds from `up` until /healthz and GraphQL answered 200


async def outage(
    cluster: PostgresCluster, http: httpx.AsyncClient, world: World, load: Load
) -> Timeline:
    """Stop PostgreSQL mid-load, look around, start it again, wait until the writers succeed."""
    await asyncio.sleep(1.5)
    await asyncio.to_thread(cluster.stop, "fast")
    down = time.monotonic()
    await observe_outage(http, world)
    await asyncio.sleep(1.0)
    restarting = time.monotonic()
    await asyncio.to_thread(cluster.start)
    up = time.monotonic()
    recovery = await wait_until(lambda: api_works(http, world), 10)
    await wait_until(lambda: everyone_wrote(world, load, up), 10)
    return Timeline(down, restarting, up, recovery)


async def test_postgresql_stopped_under_load_gives_503s_then_recovers_without_losing_writes(
    cluster: PostgresCluster, server: str, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        await wait_until(lambda: api_healthy(http), 30)
        world = await arrange(http, cluster.url)
        load = Load()
        tasks = [asyncio.create_task(keep_writing(http, world, p, load)) for p in world.written]
        tasks += [asyncio.create_task(keep_fetching(http, world, load)) for _ in range(2)]
        try:
            timeline = await outage(cluster, http, world, load)
            load.stop.set()
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        check_answers(world, load, timeline)
        await check_fresh_again(http, world)
    check_database(cluster.url, await read_database(cluster.url), world, load)
    assert "Exception in ASGI application" not in (tmp_path / "server.log").read_text()
    assert timeline.recovery < 5


async def api_healthy(http: httpx.AsyncClient) -> bool:
    return (await http.get("/healthz")).status_code == 200


async def served(http: httpx.AsyncClient, phone: Phone) -> bool:
    return (await http.get(phone.url)).status_code == 200


async def everyone_wrote(world: World, load: Load, moment: float) -> bool:
    return committed_since(load, moment) == set(world.written)


async def check_fresh_again(http: httpx.AsyncClient, world: World) -> None:
    """The phone never fetched is served now, and a change after recovery is served at once."""
    await wait_until(lambda: served(http, world.cold), 5)  # the file store pauses for 1 s
    phone = next(iter(world.warm))
    variables = {"id": phone.extension_id, "pw": "Fresh-9Vq-Rz4", "text": ""}
    body = await GraphQL(http)(SET_SIP, variables, token=world.token)
    assert body["data"]["updateSipPreferences"]["userErrors"] == []
    response = await http.get(phone.url)
    assert b"account.1.password = Fresh-9Vq-Rz4\n" in response.content


# --- in-process, without a cluster: the database refusing, or lost in the middle of a request --


async def test_graphql_answers_503_at_once_when_the_database_refuses_connections():
    app = create_app(make_settings("postgresql+asyncpg://nobody@127.0.0.1:1/none"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        answer = await graphql(http, VIEWER, {}, "mpv_not-checked-the-database-is-down")
    await app.state.engine.dispose()
    assert unavailable(answer), answer
    assert answer.seconds < BOUND_SECONDS


@contextmanager
def connection_lost_at(engine: AsyncEngine, statement_start: str) -> Iterator[None]:
    """Statements starting so fail as if the server had gone away under them."""

    def fail(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(statement_start):
            raise ConnectionResetError("connection lost (simulated)")

    event.listen(engine.sync_engine, "before_cursor_execute", fail)
    try:
        yield
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", fail)


async def one_phone(gql: GraphQL, session_factory: Any, services: Any) -> tuple[str, Phone]:
    tree = await build_tree(session_factory, services)
    await set_registrar(gql, tree["admin"].token)
    phone = await add_phone(gql, tree["o1"].token, tree["u1"].gid, "Cut", "00:15:65:00:01:01")
    return tree["o1"].token, phone


async def test_a_write_cut_off_by_a_lost_connection_is_a_503_and_saves_nothing(
    client, engine, gql, session_factory, services
):
    token, phone = await one_phone(gql, session_factory, services)
    before = await read_database(engine.url.render_as_string(hide_password=False))
    with connection_lost_at(engine, "UPDATE SIP_PREFERENCES"):
        answer = await graphql(client, *mutation("sip", phone, "Cut-0ff-Pw9x"), token)
    assert unavailable(answer), answer
    after = await read_database(engine.url.render_as_string(hide_password=False))
    assert after == before


async def test_a_connection_lost_after_a_commit_is_not_reported_as_a_failure(
    client, engine, gql, session_factory, services
):
    token, phone = await one_phone(gql, session_factory, services)
    variables = {"id": phone.extension_id, "name": "Renamed", "pw": "Cut-0ff-Pw9x"}
    with connection_lost_at(engine, "UPDATE SIP_PREFERENCES"):
        answer = await graphql(client, RENAME_THEN_SET_SIP, variables, token)
    assert answer.status == 200, answer
    [error] = answer.body["errors"]
    assert error["extensions"]["code"] == "DATABASE_UNAVAILABLE"
    assert "some of its changes were saved" in error["message"]
    stored = await read_database(engine.url.render_as_string(hide_password=False))
    assert "Renamed" in stored.names.values()
    assert b"Cut-0ff-Pw9x" not in stored.files
