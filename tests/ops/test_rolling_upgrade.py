"""A rolling upgrade on PostgreSQL: the previous release keeps serving a database the current
release migrated to its head.

The previous release is the code as it was just before the newest migration was added (the
parent of the commit that added it), taken from the repository's history. Order, as the
README's "Upgrading" says: the previous release serves, the current `magnaprov migrate` runs
beside it, then a current server starts. A device provisioned through the current server is
served the same bytes by both, and the previous release still answers GraphQL.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import pytest
from account_tree import ADMIN_PASSWORD, build_tree
from conftest import PROJECT_ROOT, GraphQL, make_settings
from live_process import serve_process, server_environment, wait_until
from new_databases import new_database
from phones import add_phone, set_registrar
from sqlalchemy import select, text

from magnaprov.db import RenderedFile, create_engine, create_session_factory
from magnaprov.db.revisions import head_revision
from magnaprov.resolvers import Services
from magnaprov.schema.node import decode_id

VIEWER = "{ viewer { login role } }"


def git_program() -> str:
    found = shutil.which("git")
    if found is None:
        pytest.fail("git is needed to take the previous release from the repository's history")
    return found


def git(*args: str) -> str:
    result = subprocess.run(
        [git_program(), "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def previous_release() -> str:
    """The commit before the one that added the newest migration."""
    if git("rev-parse", "--is-shallow-repository") == "true":
        pytest.fail(
            "the repository is a shallow clone: the previous release is not in its history. "
            "Clone it in full (or run `git fetch --unshallow`) to run this test."
        )
    newest = git("log", "-1", "--format=%H", "--", "alembic/versions")
    if not newest:
        pytest.fail("no commit in the history touches alembic/versions")
    parents = git("log", "-1", "--format=%P", newest).split()
    if not parents:
        pytest.fail(f"commit {newest} added the newest migration and has no parent release")
    return parents[0]


def extract(commit: str, folder: Path) -> Path:
    archive = subprocess.run(
        [git_program(), "-C", str(PROJECT_ROOT), "archive", commit], capture_output=True, check=True
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def code_location(environment: dict[str, str], workdir: Path) -> Path:
    """Where `import magnaprov` finds the package with this environment."""
    found = subprocess.run(
        [sys.executable, "-c", "import magnaprov; print(magnaprov.__file__)"],
        env=environment, cwd=workdir, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return Path(found.stdout.strip()).parent.parent


def migrate_with_current_code(database_url: str, workdir: Path) -> None:
    answer = subprocess.run(
        [sys.executable, "-m", "magnaprov.cli", "migrate"], env=server_environment(database_url),
        cwd=workdir, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr


async def revision_of(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return str(
                (
                    await connection.execute(text("SELECT version_num FROM alembic_version"))
                ).scalar_one()
            )
    finally:
        await engine.dispose()


async def healthy(http: httpx.AsyncClient) -> bool:
    return (await http.get("/healthz")).status_code == 200


async def file_names(database_url: str, device_gid: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            device_id = decode_id(device_gid, "Device")
            names = await session.scalars(
                select(RenderedFile.name).where(RenderedFile.device_id == device_id)
            )
            return sorted(names.all())
    finally:
        await engine.dispose()


async def test_the_previous_release_serves_phones_and_graphql_from_a_database_migrated_to_head(
    postgres_url, tmp_path
):
    old_tree = extract(previous_release(), tmp_path / "previous-release")
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    old_dir.mkdir()
    new_dir.mkdir()
    async with new_database(postgres_url, tmp_path) as database:
        admin = {"MAGNAPROV_ADMIN_PASSWORD": ADMIN_PASSWORD}
        old_environment = {"PYTHONPATH": str(old_tree), **admin}
        assert code_location(server_environment(database, **old_environment), old_dir) == old_tree
        with serve_process(database, old_dir, **old_environment) as (_old, old_url):
            async with httpx.AsyncClient(base_url=old_url, timeout=30) as old:
                await wait_until(lambda: healthy(old), 60)
                migrate_with_current_code(database, new_dir)
                assert await revision_of(database) == head_revision(database)
                with serve_process(database, new_dir, **admin) as (_new, new_url):
                    async with httpx.AsyncClient(base_url=new_url, timeout=30) as new:
                        await wait_until(lambda: healthy(new), 60)
                        await both_serve_the_same(database, old, new)


async def both_serve_the_same(
    database: str, old: httpx.AsyncClient, new: httpx.AsyncClient
) -> None:
    engine = create_engine(database)
    services = Services.from_settings(make_settings(database))
    try:
        tree = await build_tree(create_session_factory(engine), services)
    finally:
        await engine.dispose()
    gql, token = GraphQL(new), tree["o1"].token
    await set_registrar(gql, tree["admin"].token)
    phone = await add_phone(gql, token, tree["u1"].gid, "Rolling", "00:15:65:00:02:01")
    names = await file_names(database, phone.device_id)
    assert len(names) >= 2, names
    directory = phone.url.rsplit("/", 1)[0]
    for name in names:
        from_old, from_new = (
            await old.get(f"{directory}/{name}"),
            await new.get(f"{directory}/{name}"),
        )
        assert (from_old.status_code, from_new.status_code) == (200, 200), name
        assert from_old.content == from_new.content, name
    answer = await GraphQL(old)(VIEWER, token=token)
    assert answer == {"data": {"viewer": {"login": "o1", "role": "ORGANIZATION"}}}, answer


NEWER_REVISION = "9999"  # a revision no release of this code has


async def stamp_newer(database_url: str) -> None:
    """Mark the database as migrated by a newer release (its schema is this release's head)."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE alembic_version SET version_num = :newer"), {"newer": NEWER_REVISION}
            )
    finally:
        await engine.dispose()


async def test_a_worker_of_this_release_restarted_after_a_newer_release_migrated_still_serves(
    database_url, tmp_path
):
    async with new_database(database_url, tmp_path) as database:
        migrate_with_current_code(database, tmp_path)
        await stamp_newer(database)
        admin = {"MAGNAPROV_ADMIN_PASSWORD": ADMIN_PASSWORD}
        with serve_process(database, tmp_path, **admin) as (process, url):
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                await wait_until(lambda: healthy_or_exited(http, process), 60)
                assert process.poll() is None, (tmp_path / "server.log").read_text()
                answer = await http.post("/graphql", json={"query": "{ __typename }"})
                assert answer.json() == {"data": {"__typename": "Query"}}
        log = (tmp_path / "server.log").read_text()
        assert f"migration {NEWER_REVISION}, newer than this release knows" in log
        assert await revision_of(database) == NEWER_REVISION


async def healthy_or_exited(http: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> bool:
    return process.poll() is not None or await healthy(http)
