"""Migration revisions: this release's, a database's, and serving beside a newer release."""

from __future__ import annotations

import asyncio

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text

from magnaprov.db.engine import create_engine
from magnaprov.db.migrations import SecretsFactory, alembic_config, upgrade_to_head

__all__ = ["database_revision", "head_revision", "is_known_revision", "migrate_for_serving"]

_TABLE = "alembic_version"


def _scripts(database_url: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(database_url))


def head_revision(database_url: str) -> str:
    """The newest revision of this release's migrations."""
    head = _scripts(database_url).get_current_head()
    if head is None:
        raise RuntimeError("this release has no migrations")
    return head


def is_known_revision(database_url: str, revision: str) -> bool:
    """Whether this release's migrations include `revision` (so it can upgrade from it)."""
    try:
        return _scripts(database_url).get_revision(revision) is not None
    except CommandError:
        return False


async def database_revision(database_url: str) -> str | None:
    """The revision the database is at; None when it was never migrated."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            if not await connection.run_sync(lambda sync: inspect(sync).has_table(_TABLE)):
                return None
            found = await connection.scalar(text(f"SELECT version_num FROM {_TABLE}"))  # noqa: S608
    finally:
        await engine.dispose()
    return None if found is None else str(found)


def migrate_for_serving(database_url: str, secrets: SecretsFactory | None = None) -> str | None:
    """Upgrade the database to head, unless a newer release already migrated it further.

    During a rolling upgrade the new release migrates first while this one keeps serving
    (the migrations only expand); a worker of this release restarted then must start too.
    Returns the newer revision the database was left at, or None after a normal upgrade.
    """
    try:
        upgrade_to_head(database_url, secrets)
    except CommandError:
        revision = asyncio.run(database_revision(database_url))
        if revision is None or is_known_revision(database_url, revision):
            raise
        return revision
    return None
