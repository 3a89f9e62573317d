"""Running the Alembic migrations: the only way the schema is made, on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

from alembic import command

__all__ = ["alembic_config", "database_url_for", "upgrade_to_head"]

# The migrations live beside the package in the source tree (the layout of DESIGN.md);
# `make run` installs the package in editable mode, so this path resolves in every checkout.
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_URL_OPTION = "magnaprov.database_url"


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
