"""Running the Alembic migrations: the only way the schema is made, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from alembic import command

__all__ = [
    "SecretsFactory",
    "alembic_config",
    "database_revisions",
    "database_url_for",
    "script_heads",
    "script_revisions",
    "secrets_for",
    "upgrade_to_head",
]

# The migrations live beside the package in the source tree (the layout of DESIGN.md);
# `make run` installs the package in editable mode, so this path resolves in every checkout.
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_URL_OPTION = "magnaprov.database_url"
_SECRETS_OPTION = "magnaprov.secrets"
# Makes the secrets box (a `magnaprov.tenancy.SecretBox`) for revisions that encrypt rows;
# called only when there is something to encrypt.
SecretsFactory = Callable[[], Any]
_VERSION_TABLE = "alembic_version"  # alembic's default, which env.py keeps


def alembic_config(database_url: str, secrets: SecretsFactory | None = None) -> Config:
    """An Alembic configuration for `database_url`, with the keyring the app uses, if given."""
    config = Config(str(_PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(_PROJECT_ROOT / "alembic"))
    config.attributes[_URL_OPTION] = database_url
    if secrets is not None:
        config.attributes[_SECRETS_OPTION] = secrets
    return config


def secrets_for(config: Config) -> SecretsFactory | None:
    """The secrets box factory a configuration was given by `alembic_config`, if any."""
    factory: SecretsFactory | None = config.attributes.get(_SECRETS_OPTION)
    return factory


def database_url_for(config: Config) -> str | None:
    """The URL a configuration was made for, if it came from `alembic_config`."""
    url = config.attributes.get(_URL_OPTION)
    return str(url) if url else None


def upgrade_to_head(database_url: str, secrets: SecretsFactory | None = None) -> None:
    """Migrate the database to the newest revision (blocking: call from a thread in async code).

    `secrets` makes the box revisions encrypt existing rows with; without it they load the
    keyring from the settings, as the app does."""
    command.upgrade(alembic_config(database_url, secrets), "head")


@lru_cache(maxsize=1)
def script_heads() -> frozenset[str]:
    """The head revision(s) of the migration scripts this code ships (read once per process)."""
    config = Config()
    config.set_main_option("script_location", str(_PROJECT_ROOT / "alembic"))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


@lru_cache(maxsize=1)
def script_revisions() -> frozenset[str]:
    """Every revision the migration scripts this code ships know (read once per process)."""
    config = Config()
    config.set_main_option("script_location", str(_PROJECT_ROOT / "alembic"))
    scripts = ScriptDirectory.from_config(config)
    return frozenset(script.revision for script in scripts.walk_revisions())


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
