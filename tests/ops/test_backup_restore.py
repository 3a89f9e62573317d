"""`magnaprov backup` of a serving database under phone load, and `magnaprov restore` into a
new one: a server started on the restored database, with the restored keyring, serves every
phone the same bytes, and reads the secrets the keyring protects."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from account_tree import ADMIN_PASSWORD, build_tree
from conftest import TEST_KEYRING, GraphQL
from live_process import serve_process, server_environment, wait_until
from new_databases import new_database
from phones import Phone, add_phone, set_registrar
from sqlalchemy import select, text

from magnaprov.db import RenderedFile, create_engine, is_sqlite
from magnaprov.db.revisions import head_revision
from magnaprov.schema.node import decode_id

COMMAND = [sys.executable, "-m", "magnaprov.cli"]
PASSPHRASE = "long enough passphrase 7"
PHONE_PASSWORD = """query($id: ID!) {
  node(id: $id) { ... on Extension { sipPreferences { phonePassword } } } }"""


def run_cli(
    *args: str, database_url: str, workdir: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = server_environment(database_url, **env)
    return subprocess.run(
        [*COMMAND, *args], env=environment, cwd=workdir, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def restore_environment(key_file: Path) -> dict[str, str]:
    """What a restore (and the server after it) runs with: the key file, no keys in the environment."""
    return {"MAGNAPROV_SECRETS_KEYS": "", "MAGNAPROV_SECRETS_KEY_FILE": str(key_file)}


async def tables_of(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            if is_sqlite(database_url):
                query = "SELECT name FROM sqlite_master WHERE type = 'table'"
            else:
                query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            return sorted((await connection.scalars(text(query))).all())
    finally:
        await engine.dispose()


@contextmanager
def running(database_url: str, workdir: Path, **environment: str) -> Iterator[str]:
    workdir.mkdir(exist_ok=True)
    # The admin the tree logs in as, whether the server or the tree creates it first.
    environment.setdefault("MAGNAPROV_ADMIN_PASSWORD", ADMIN_PASSWORD)
    with serve_process(database_url, workdir, **environment) as (_process, url):
        yield url


async def healthy(http: httpx.AsyncClient) -> bool:
    return (await http.get("/healthz")).status_code == 200


# --- the world: phones provisioned through the serving process -------------------------------


@dataclass(frozen=True)
class World:
    token: str
    phones: list[Phone]
    files: dict[Phone, list[str]]  # every file name of each phone's device

    def urls(self) -> list[str]:
        return [
            phone.url.rsplit("/", 1)[0] + "/" + name
            for phone, names in self.files.items()
            for name in names
        ]


async def arrange(http: httpx.AsyncClient, session_factory: Any, services: Any) -> World:
    tree = await build_tree(session_factory, services)
    gql, token = GraphQL(http), tree["o1"].token
    await set_registrar(gql, tree["admin"].token)
    phones = [
        await add_phone(gql, token, tree["u1"].gid, f"Desk {n}", f"00:15:65:00:01:{n:02x}")
        for n in range(4)
    ]
    async with session_factory() as session:
        files = {
            phone: sorted(
                (
                    await session.scalars(
                        select(RenderedFile.name).where(
                            RenderedFile.device_id == decode_id(phone.device_id, "Device")
                        )
                    )
                ).all()
            )
            for phone in phones
        }
    assert all(len(names) >= 2 for names in files.values()), files
    return World(token, phones, files)


@dataclass
class PhoneLoad:
    """Phones fetching their files again and again, each with its own address in the agent."""

    statuses: list[int] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, http: httpx.AsyncClient, world: World) -> None:
        round_number = 0
        while not self.stop.is_set():
            round_number += 1
            for url in world.urls():
                agent = f"Yealink SIP-T46S 66.86.0.15 round {round_number}"
                response = await http.get(url, headers={"User-Agent": agent})
                self.statuses.append(response.status_code)
            await asyncio.sleep(0.01)


async def backup_under_load(
    http: httpx.AsyncClient, world: World, database_url: str, archive: Path, workdir: Path
) -> PhoneLoad:
    load = PhoneLoad()
    task = asyncio.create_task(load.run(http, world))
    await wait_until(lambda: _has_fetched(load), 30)
    fetched_before = len(load.statuses)
    environment = server_environment(database_url, MAGNAPROV_BACKUP_PASSPHRASE=PASSPHRASE)
    process = await asyncio.create_subprocess_exec(
        *COMMAND, "backup", str(archive), "--include-keyring", env=environment, cwd=workdir,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    fetched_during = len(load.statuses) - fetched_before
    load.stop.set()
    await task
    assert process.returncode == 0, (out, err)
    assert b"with the keyring" in out
    assert fetched_during > 0, "no phone fetched while the backup ran"
    return load


async def _has_fetched(load: PhoneLoad) -> bool:
    return bool(load.statuses)


async def files_served(base_url: str, world: World) -> dict[str, tuple[int, bytes]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        await wait_until(lambda: healthy(http), 30)
        return {url: await _fetch(http, url) for url in world.urls()}


async def _fetch(http: httpx.AsyncClient, url: str) -> tuple[int, bytes]:
    response = await http.get(url)
    return response.status_code, response.content


async def phone_passwords(base_url: str, world: World) -> list[str | None]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        gql = GraphQL(http)
        answers = [
            await gql(PHONE_PASSWORD, {"id": phone.extension_id}, token=world.token)
            for phone in world.phones
        ]
    return [answer["data"]["node"]["sipPreferences"]["phonePassword"] for answer in answers]


async def test_a_backup_of_a_serving_database_under_phone_load_restores_to_a_server_giving_every_phone_the_same_bytes(
    engine, session_factory, services, tmp_path
):
    source = engine.url.render_as_string(hide_password=False)
    archive = tmp_path / "magnaprov-backup.tar.gz"
    # Every fetch's contact is written within a tenth of a second: the database is being
    # written while the backup reads it.
    load_settings = {
        "MAGNAPROV_CONTACT_FLUSH_SECONDS": "0.1",
        "MAGNAPROV_CONTACT_RESOLUTION_SECONDS": "0",
    }
    with running(source, tmp_path / "source", **load_settings) as source_url:
        async with httpx.AsyncClient(base_url=source_url, timeout=30) as http:
            await wait_until(lambda: healthy(http), 30)
            world = await arrange(http, session_factory, services)
            load = await backup_under_load(http, world, source, archive, tmp_path)
        assert set(load.statuses) == {200}
        original = await files_served(source_url, world)
    assert {status for status, _ in original.values()} == {200}

    async with new_database(source, tmp_path) as target:
        key_file = tmp_path / "restored" / "magnaprov.key"
        key_file.parent.mkdir()
        restored = run_cli(
            "restore", str(archive), database_url=target, workdir=key_file.parent,
            MAGNAPROV_BACKUP_PASSPHRASE=PASSPHRASE, **restore_environment(key_file),
        )  # fmt: skip
        assert restored.returncode == 0, restored.stderr
        assert key_file.read_text().strip() == TEST_KEYRING
        assert key_file.stat().st_mode & 0o077 == 0
        with running(target, key_file.parent, **restore_environment(key_file)) as restored_url:
            assert await files_served(restored_url, world) == original
            assert await phone_passwords(restored_url, world) == [
                phone.password for phone in world.phones
            ]


# --- refusals and notices, on an archive of a quiet database ---------------------------------


@pytest.fixture
async def archived(engine, session_factory, services, tmp_path) -> tuple[str, Path, Path]:
    """The test database with a tree in it, and two archives of it: with and without keyring."""
    await build_tree(session_factory, services)
    source = engine.url.render_as_string(hide_password=False)
    with_keyring, without = tmp_path / "with.tar.gz", tmp_path / "without.tar.gz"
    made = run_cli(
        "backup", str(with_keyring), "--include-keyring", database_url=source, workdir=tmp_path,
        MAGNAPROV_BACKUP_PASSPHRASE=PASSPHRASE,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    made = run_cli("backup", str(without), database_url=source, workdir=tmp_path)
    assert made.returncode == 0, made.stderr
    return source, with_keyring, without


async def test_a_wrong_passphrase_is_a_clear_error_and_nothing_is_written(archived, tmp_path):
    source, with_keyring, _ = archived
    wrong = tmp_path / "wrong-passphrase"
    wrong.write_text("not the passphrase at all\n")
    async with new_database(source, tmp_path) as target:
        key_file = tmp_path / "magnaprov.key"
        answer = run_cli(
            "restore", str(with_keyring), "--passphrase-file", str(wrong), database_url=target,
            workdir=tmp_path, **restore_environment(key_file),
        )  # fmt: skip
        assert answer.returncode == 2
        assert "passphrase does not open the keyring" in answer.stderr
        assert "Nothing restored" in answer.stderr
        assert await tables_of(target) == []
        assert not key_file.exists()


async def test_restore_into_a_database_that_is_not_empty_is_refused_and_leaves_it_alone(
    archived, session_factory, tmp_path
):
    source, with_keyring, _ = archived
    async with session_factory() as session:
        before = (await session.execute(text("SELECT count(*) FROM account"))).scalar_one()
    answer = run_cli(
        "restore", str(with_keyring), database_url=source, workdir=tmp_path,
        MAGNAPROV_BACKUP_PASSPHRASE=PASSPHRASE,
    )  # fmt: skip
    assert answer.returncode == 2
    assert "is not empty" in answer.stderr and "new, empty database" in answer.stderr
    async with session_factory() as session:
        after = (await session.execute(text("SELECT count(*) FROM account"))).scalar_one()
    assert after == before > 0


async def test_an_archive_without_keyring_restores_the_rows_and_says_the_keyring_is_needed(
    archived, session_factory, tmp_path
):
    source, _, without = archived
    async with session_factory() as session:
        logins = sorted((await session.scalars(text("SELECT login FROM account"))).all())
    async with new_database(source, tmp_path) as target:
        key_file = tmp_path / "magnaprov.key"
        answer = run_cli(
            "restore", str(without), database_url=target, workdir=tmp_path,
            **restore_environment(key_file),
        )  # fmt: skip
        assert answer.returncode == 0, answer.stderr
        assert "holds no keyring" in answer.stderr and str(key_file) in answer.stderr
        assert not key_file.exists()
        engine = create_engine(target)
        try:
            async with engine.connect() as connection:
                restored = sorted(
                    (await connection.scalars(text("SELECT login FROM account"))).all()
                )
        finally:
            await engine.dispose()
    assert restored == logins


async def test_an_archive_names_its_contents_and_seals_the_keyring(archived, tmp_path):
    source, with_keyring, without = archived
    with tarfile.open(with_keyring) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        sealed = tar.extractfile("keyring.sealed.json").read()  # type: ignore[union-attr]
    assert manifest["format_version"] == 1
    assert manifest["database"] == ("sqlite" if is_sqlite(source) else "postgresql")
    assert manifest["alembic_revision"] == head_revision(source)
    assert manifest["includes_keyring"] is True and manifest["created_at"]
    key = TEST_KEYRING.split(":", 1)[1]
    assert key.encode() not in sealed and json.loads(sealed)["kdf"] == "argon2id"
    with tarfile.open(without) as tar:
        assert "keyring.sealed.json" not in tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["includes_keyring"] is False
    assert os.stat(with_keyring).st_mode & 0o077 == 0


async def test_include_keyring_without_a_passphrase_is_refused_and_writes_no_archive(
    engine, tmp_path
):
    source = engine.url.render_as_string(hide_password=False)
    archive = tmp_path / "backup.tar.gz"
    answer = run_cli(
        "backup", str(archive), "--include-keyring", database_url=source, workdir=tmp_path
    )
    assert answer.returncode == 2
    assert "needs a passphrase" in answer.stderr
    assert not archive.exists()


def damaged_copy(archive: Path, target: Path) -> Path:
    """The archive with one byte of its database snapshot changed."""
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as copy:
        for member in source.getmembers():
            data = bytearray(source.extractfile(member).read())  # type: ignore[union-attr]
            if member.name.startswith("database."):
                data[len(data) // 2] ^= 0xFF
            copy.addfile(member, io.BytesIO(bytes(data)))
    return target


async def test_a_damaged_archive_is_refused_and_nothing_is_written(archived, tmp_path):
    source, with_keyring, _ = archived
    damaged = damaged_copy(with_keyring, tmp_path / "damaged.tar.gz")
    async with new_database(source, tmp_path) as target:
        key_file = tmp_path / "magnaprov.key"
        answer = run_cli(
            "restore", str(damaged), database_url=target, workdir=tmp_path,
            MAGNAPROV_BACKUP_PASSPHRASE=PASSPHRASE, **restore_environment(key_file),
        )  # fmt: skip
        assert answer.returncode == 2
        assert "damaged" in answer.stderr
        assert await tables_of(target) == []
        assert not key_file.exists()


def with_database_member(archive: Path, target: Path, name: str) -> Path:
    """The archive with its database snapshot stored under `name`, as its manifest says."""
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as copy:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                data = json.dumps({**json.loads(data), "database_member": name}).encode()
                member.size = len(data)
            elif member.name.startswith("database."):
                member.name = name
            copy.addfile(member, io.BytesIO(data))
    return target


async def test_an_archive_naming_a_path_outside_writes_nothing_there(archived, tmp_path):
    source, _, without = archived
    outside = tmp_path / "outside"
    escaping = with_database_member(
        without, tmp_path / "escaping.tar.gz", f"../../../../../../../..{outside}"
    )
    async with new_database(source, tmp_path) as target:
        answer = run_cli("restore", str(escaping), database_url=target, workdir=tmp_path)
        assert answer.returncode == 2
        assert "Nothing restored" in answer.stderr
        assert not outside.exists()
        assert await tables_of(target) == []
