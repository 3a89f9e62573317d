"""Rendered files at rest: no secret they hold is in the database files, a dump or a backup.

The files carry line passwords, phone administrator passwords and the device key of the
provisioning URL; they are stored encrypted, bound to their row, and decrypted once per cache
fill for the phones and for viewers who may modify the device.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import stat
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from account_tree import Member, build_tree
from device_fixtures import provision
from extension_fixtures import create_extension
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url
from stored_files import TEST_BOX, file_plaintext

from alembic import command
from magnaprov.db import Device, RenderedFile, create_engine, is_sqlite
from magnaprov.db.migrations import alembic_config
from magnaprov.schema.node import decode_id
from magnaprov.serve.file_store import FileStore
from magnaprov.templating import Equipment, load_catalog
from magnaprov.tenancy.secrets import SecretBox

SET_PASSWORD = """mutation($id: ID!, $p: String!) { updateSipPreferences(extensionId: $id,
  phonePassword: $p, phonePasswordConfirmation: $p) { userErrors { code } } }"""
FILE_CONTENTS = "query($id: ID!) { node(id: $id) { ... on Device { files { name content } } } }"


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


def random_letters() -> str:
    # Letters only: a random digit run could hold the extension number, which is refused.
    return "".join(secrets.choice(string.ascii_letters) for _ in range(16))


def one_equipment_per_vendor() -> list[Equipment]:
    chosen: dict[str, Equipment] = {}
    for equipment in load_catalog().equipment():
        chosen.setdefault(equipment.manufacturer.key, equipment)
    return list(chosen.values())


async def provision_every_vendor(
    gql: Any, tree: dict[str, Member], engine: Any
) -> list[dict[str, Any]]:
    """One phone per vendor, each with its own random line and admin passwords."""
    token = tree["o1"].token
    phones = []
    for n, equipment in enumerate(one_equipment_per_vendor(), start=1):
        extension = (await create_extension(gql, token, tree["u1"].gid, f"Line {n}"))["extension"]
        line_password = f"Ln7x-{random_letters()}Q"
        body = await gql(SET_PASSWORD, {"id": extension["id"], "p": line_password}, token=token)
        assert body["data"]["updateSipPreferences"]["userErrors"] == []
        admin_password = f"Ad7y-{random_letters()}Z"
        maker, model, firmware = equipment.keys
        payload = await provision(
            gql,
            token,
            extension["id"],
            f"{equipment.manufacturer.mac_prefixes[0]}:a0:00:{n:02x}",
            manufacturer=maker,
            model=model,
            firmware=firmware,
            appVersion="P0S3-08-11-00" if equipment.firmware.requires_application_version else None,
            protocol="HTTP" if "HTTP" in equipment.model.protocols else "TFTP",
            passwordGeneration="MANUAL",
            adminPassword=admin_password,
            adminPasswordConfirmation=admin_password,
        )
        assert payload["userErrors"] == [], (maker, payload)
        device = payload["device"]
        phones.append(
            {"device": device, "secrets": [line_password, admin_password], "vendor": maker}
        )
    async with engine.connect() as connection:
        for phone in phones:
            device_id = decode_id(phone["device"]["id"], "Device")
            blob = await connection.scalar(select(Device.key_secret).where(Device.id == device_id))
            phone["secrets"].append(TEST_BOX.decrypt(bytes(blob), f"device:{device_id}:key"))
    return phones


async def database_bytes(engine: Any) -> bytes:
    """What a backup of the database holds: the SQLite file and its WAL, or a pg_dump."""
    url = engine.url
    if is_sqlite(str(url)):
        path = Path(url.database)
        side = path.with_name(path.name + "-wal")
        return await asyncio.to_thread(lambda: path.read_bytes() + side.read_bytes())
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    dumped = await asyncio.to_thread(
        subprocess.run, ["pg_dump", "--dbname", libpq], capture_output=True, check=True
    )
    return dumped.stdout


async def test_no_line_password_admin_password_or_device_key_is_in_the_database_or_a_dump(
    gql, tree, engine
):
    phones = await provision_every_vendor(gql, tree, engine)
    assert len({phone["vendor"] for phone in phones}) == 9
    for phone in phones:  # the files do hold the secrets: they are what must not leak
        served = b"".join(file["content"].encode() for file in phone["device"]["files"])
        assert phone["secrets"][0].encode() in served, phone["vendor"]
    stored = await database_bytes(engine)
    for phone in phones:
        for secret in phone["secrets"]:
            # pg_dump writes bytea as hex: the secret would show in either form.
            for form in (secret.encode(), secret.encode().hex().encode()):
                assert form not in stored, (phone["vendor"], secret)


async def test_stored_files_are_encrypted_and_read_back_by_a_viewer_who_may_modify(
    gql, tree, engine
):
    [phone, *_] = await provision_every_vendor(gql, tree, engine)
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(RenderedFile.device_id, RenderedFile.name_key, RenderedFile.content)
            )
        ).all()
    assert rows
    for row in rows:
        assert TEST_BOX.key_id_of(bytes(row.content)) == TEST_BOX.keyring.primary_id
        assert file_plaintext(*row)  # bound to this row, under the tests' key
    body = await gql(FILE_CONTENTS, {"id": phone["device"]["id"]}, token=tree["o1"].token)
    contents = "".join(file["content"] for file in body["data"]["node"]["files"])
    assert phone["secrets"][0] in contents


async def test_a_file_content_pasted_into_another_row_is_neither_served_nor_shown(
    gql, tree, engine, client
):
    phones = {
        decode_id(phone["device"]["id"], "Device"): phone
        for phone in await provision_every_vendor(gql, tree, engine)
    }
    async with engine.begin() as connection:
        rows = (
            await connection.execute(
                select(
                    RenderedFile.id, RenderedFile.device_id, RenderedFile.name, RenderedFile.content
                ).order_by(RenderedFile.device_id, RenderedFile.id)
            )
        ).all()
        source = rows[0]
        target = next(row for row in rows if row.device_id != source.device_id)
        await connection.execute(
            update(RenderedFile).where(RenderedFile.id == target.id).values(content=source.content)
        )
    phone = phones[target.device_id]
    key = phone["secrets"][2]
    response = await client.get(f"/prov/{key}/{target.name}")
    assert response.status_code == 404
    body = await gql(FILE_CONTENTS, {"id": phone["device"]["id"]}, token=tree["o1"].token)
    shown = {file["name"]: file["content"] for file in body["data"]["node"]["files"]}
    assert shown[target.name] is None


class CountingBox(SecretBox):
    """The real box, counting what it decrypts."""

    opened = 0

    def open(self, ciphertext: bytes, identity: str) -> bytes:
        if identity.startswith("rendered_file:"):
            self.opened += 1
        return super().open(ciphertext, identity)


async def test_files_are_decrypted_once_per_cache_fill_not_per_request(gql, tree, engine):
    [phone, *_] = await provision_every_vendor(gql, tree, engine)
    box = CountingBox(TEST_BOX.keyring)
    store = FileStore(engine, box)
    await store.start()
    try:
        for _ in range(100):  # PostgreSQL: the cache is trusted once its LISTEN connection is up
            if store.listening or is_sqlite(str(engine.url)):
                break
            await asyncio.sleep(0.05)
        for _ in range(5):
            device = await store.by_key(phone["secrets"][2])
            assert device is not None and device.files
        files = len(device.files)
        assert box.opened == files
        store.invalidate([device.id])
        await store.by_key(phone["secrets"][2])
        assert box.opened == 2 * files
    finally:
        await store.stop()


async def test_sqlite_database_and_its_side_files_are_created_owner_only(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:  # WAL mode: the -wal and -shm appear
            await connection.execute(text("CREATE TABLE probe (x INTEGER)"))
            await connection.execute(text("INSERT INTO probe VALUES (1)"))
            modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in tmp_path.iterdir()}
    finally:
        await engine.dispose()
    assert set(modes) >= {"fresh.db", "fresh.db-wal", "fresh.db-shm"}
    assert all(mode == 0o600 for mode in modes.values()), modes


def test_magnaprov_migrate_creates_the_database_owner_only(tmp_path):
    environment = {**os.environ, "MAGNAPROV_DATABASE_URL": "sqlite+aiosqlite:///./new.db"}
    result = subprocess.run(
        [sys.executable, "-m", "magnaprov.cli", "migrate"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((tmp_path / "new.db").stat().st_mode) == 0o600


async def test_migration_0005_encrypts_files_written_before_it_and_its_downgrade_restores_them(
    gql, tree, engine, client
):
    [phone, *_] = await provision_every_vendor(gql, tree, engine)
    url = engine.url.render_as_string(hide_password=False)
    async with engine.begin() as connection:  # the files as revision 0004 stored them
        rows = (
            await connection.execute(
                select(
                    RenderedFile.id,
                    RenderedFile.device_id,
                    RenderedFile.name_key,
                    RenderedFile.content,
                )
            )
        ).all()
        clear = {row.id: file_plaintext(row.device_id, row.name_key, row.content) for row in rows}
        for row_id, content in clear.items():
            await connection.execute(
                update(RenderedFile).where(RenderedFile.id == row_id).values(content=content)
            )
    config = alembic_config(url, lambda: TEST_BOX)
    # Only 0005 runs: the tables already have what the later revisions add.
    try:
        await asyncio.to_thread(command.stamp, config, "0004")
        await asyncio.to_thread(command.upgrade, config, "0005")
        after = await stored_contents(engine)
        assert {row_id: file_plaintext(*row) for row_id, row in after.items()} == clear
        assert all(row[2] != clear[row_id] for row_id, row in after.items())
        await asyncio.to_thread(command.downgrade, config, "0004")
        assert {row_id: row[2] for row_id, row in (await stored_contents(engine)).items()} == clear
    finally:
        await asyncio.to_thread(command.upgrade, config, "0005")
        await asyncio.to_thread(command.stamp, config, "head")
    device_id = decode_id(phone["device"]["id"], "Device")
    [(row_id, name_key)] = [(row.id, row.name_key) for row in rows if row.device_id == device_id][
        :1
    ]
    response = await client.get(f"/prov/{phone['secrets'][2]}/{name_key}")
    assert response.status_code == 200
    assert response.content == clear[row_id]


async def stored_contents(engine: Any) -> dict[int, tuple[int, str, bytes]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(
                RenderedFile.id, RenderedFile.device_id, RenderedFile.name_key, RenderedFile.content
            )
        )
        return {row.id: (row.device_id, row.name_key, bytes(row.content)) for row in rows}
