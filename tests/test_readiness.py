"""/readyz: ready only when the database answers at the migration head and the keyring opens
the stored secrets; the server does not start serving before the database is at the head."""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from account_tree import build_tree
from alembic.script import ScriptDirectory
from conftest import TEST_KEYRING, make_settings
from extension_fixtures import create_extension

from alembic import command
from magnaprov.db.migrations import alembic_config, script_heads, upgrade_to_head
from magnaprov.serve.app import create_app

SET_SIP_PASSWORD = """mutation($id: ID!, $pw: String!) {
  updateSipPreferences(extensionId: $id, phonePassword: $pw, phonePasswordConfirmation: $pw) {
    userErrors { code } } }"""
# The revision a database one step behind this code's head is at.
[HEAD] = script_heads()
BEHIND = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(HEAD).down_revision
OTHER_KEYRING = "otherkey:" + base64.b64encode(bytes(range(100, 132))).decode()


async def readyz(app: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        return await http.get("/readyz")


@pytest.fixture
def behind_head(tmp_path: Path) -> str:
    """A throwaway SQLite database migrated to head, then downgraded one revision."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'behind.db'}"
    upgrade_to_head(url)
    command.downgrade(alembic_config(url), "-1")
    return url


async def test_readyz_answers_200_on_a_migrated_database(client):
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "keyring": "ok"},
    }


async def test_readyz_answers_503_naming_migrations_when_the_database_is_behind_head(behind_head):
    app = create_app(make_settings(behind_head))
    try:
        response = await readyz(app)
    finally:
        await app.state.engine.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["migrations"]
    assert body["checks"]["database"] == "ok"
    assert f"database at revision {BEHIND}" in body["checks"]["migrations"]


async def test_readyz_answers_503_naming_the_database_when_it_is_unreachable():
    app = create_app(make_settings("postgresql+asyncpg://nobody@127.0.0.1:1/none"))
    try:
        response = await readyz(app)
    finally:
        await app.state.engine.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["failed"][0] == "database"
    assert body["checks"]["database"].startswith("unreachable")
    assert body["checks"]["migrations"] == "not checked"


async def test_readyz_answers_503_naming_the_keyring_when_it_lacks_the_key_of_stored_secrets(
    gql, engine, session_factory, services
):
    tree = await build_tree(session_factory, services)
    payload = await create_extension(gql, tree["o1"].token, tree["u1"].gid, "Reception")
    body = await gql(
        SET_SIP_PASSWORD, {"id": payload["extension"]["id"], "pw": "Line1-Secret-pw"},
        token=tree["o1"].token,
    )  # fmt: skip
    assert body["data"]["updateSipPreferences"]["userErrors"] == []
    url = engine.url.render_as_string(hide_password=False)

    wrong = await readyz(create_app(make_settings(url, secrets_keys=OTHER_KEYRING), engine))
    assert wrong.status_code == 503
    assert wrong.json()["failed"] == ["keyring"]
    assert "testkey1" in wrong.json()["checks"]["keyring"]  # the key the secret needs

    both = f"{OTHER_KEYRING},{TEST_KEYRING}"  # a new primary, the old key kept: still ready
    rotated = await readyz(create_app(make_settings(url, secrets_keys=both), engine))
    assert rotated.status_code == 200


async def test_start_up_gives_up_naming_migrations_when_the_database_stays_behind_head(
    behind_head,
):
    app = create_app(make_settings(behind_head, startup_wait_seconds=0))
    try:
        with pytest.raises(RuntimeError, match=f"migrations: database at revision {BEHIND}"):
            async with app.router.lifespan_context(app):
                pass
    finally:
        await app.state.engine.dispose()


async def test_start_up_waits_until_the_database_is_migrated_then_serves(behind_head, caplog):
    url = behind_head
    app = create_app(make_settings(url, startup_wait_seconds=120))
    serving, stop = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        async with app.router.lifespan_context(app):
            serving.set()
            await stop.wait()

    caplog.set_level(logging.INFO, logger="magnaprov.readiness")
    task = asyncio.create_task(run())
    try:
        for _ in range(300):  # the start-up says what it waits for
            if any(f"migrations: database at revision {BEHIND}" in r.message for r in caplog.records):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("no log line says the start-up waits for the migrations")
        assert not serving.is_set()
        await asyncio.to_thread(upgrade_to_head, url)
        await asyncio.wait_for(serving.wait(), 30)
        assert (await readyz(app)).status_code == 200
        assert any(r.message.startswith("ready:") for r in caplog.records)
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)
        await app.state.engine.dispose()
