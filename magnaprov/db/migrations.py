"""Running the Alembic migrations: the only way the schema is made, on both databases."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from alembic import command

__all__ = [
    "alembic_config",
    "database_revisions",
    "database_url_for",
    "script_heads",
    "upgrade_to_head",
]

# The migrations live beside the package in the source tree (the layout of DESIGN.md);
# `make run` installs the package in editable mode, so this path resolves in every checkout.
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_URL_OPTION = "magnaprov.database_url"
_VERSION_TABLE = "alembic_version"  # alembic's default, which env.py keeps


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for `database_url`."""
    config = Config(str(_PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(_PROJECT_ROOT / "alembic"))
    config.attributes[_URL_OPTION] = database_url
    return config


def database_url_for(config: Config) -> str | None:
    """The URL a configuration was made for, if it came from `alembic_config`."""
    url = config.attributes.get(_URL_OPTION)
    return str(url) if url else None


def upgrade_to_head(database_url: str) -> None:
    """Migrate the database to the newest revision (blocking: call from a thread in async code)."""
    command.upgrade(alembic_config(database_url), "head")


@lru_cache(maxsize=1)
def script_heads() -> frozenset[str]:
    """The head revision(s) of the migration scripts this code ships (read once per process)."""
    config = Config()
    config.set_main_option("script_location", str(_PROJECT_ROOT / "alembic"))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


async def database_revisions(connection: AsyncConnection) -> frozenset[str]:
    """The revision(s) the database is at; empty when it was never migrated."""
    return await connection.run_sync(_current_heads)


def _current_heads(connection: Connection) -> frozenset[str]:
    # Read directly rather than through alembic's MigrationContext, which logs two lines each
    # time it is made: this runs on every readiness probe.
    if not inspect(connection).has_table(_VERSION_TABLE):
        return frozenset()
    rows = connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}"))  # noqa: S608
    return frozenset(str(row[0]) for row in rows)
