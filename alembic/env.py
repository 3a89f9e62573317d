"""Alembic environment: async engine, batch mode on SQLite, the models' naming convention."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Connection

from alembic import context
from magnaprov.db import Base, create_engine, is_sqlite
from magnaprov.db.migrations import database_url_for
from magnaprov.settings import get_settings

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return database_url_for(config) or get_settings().database_url


def _configure(connection: Connection | None, url: str) -> None:
    context.configure(
        connection=connection,
        url=None if connection is not None else url,
        target_metadata=target_metadata,
        render_as_batch=is_sqlite(url),  # SQLite alters tables by copying them
        compare_type=True,
        literal_binds=connection is None,
    )


def _run_sync(connection: Connection, url: str) -> None:
    _configure(connection, url)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str) -> None:
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync, url)
        await connection.commit()
    await engine.dispose()


def main() -> None:
    """Run offline (SQL to stdout) or online against the configured database."""
    url = _url()
    if context.is_offline_mode():
        _configure(None, url)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_online(url))


main()
