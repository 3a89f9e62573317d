"""Alembic is the only way the schema is made: from empty to head, on both databases."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from alembic import command
from magnaprov.db import Base, create_engine
from magnaprov.db.device import DEVICE_FILLFACTOR
from magnaprov.db.migrations import alembic_config, upgrade_to_head


def _differences(connection) -> list:  # type: ignore[no-untyped-def]
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def test_migrated_schema_matches_the_models_exactly(shared_engine: AsyncEngine):
    async with shared_engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


async def test_migrations_run_from_empty_to_head_and_back(database_url: str, tmp_path):
    url = database_url
    if url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        await asyncio.to_thread(upgrade_to_head, url)
    # Down to nothing and up again: every revision is reversible on this database.
    await asyncio.to_thread(command.downgrade, alembic_config(url), "base")
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await asyncio.to_thread(upgrade_to_head, url)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_device_rows_leave_room_for_in_place_updates(postgres_url: str):
    """The last-contact writes need room on each page (HOT updates); see DEVICE_FILLFACTOR.
    PostgreSQL only: SQLite has no such setting."""
    await asyncio.to_thread(upgrade_to_head, postgres_url)
    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            options = await connection.scalar(
                text("SELECT reloptions FROM pg_class WHERE relname = 'device'")
            )
    finally:
        await engine.dispose()
    assert options == [f"fillfactor={DEVICE_FILLFACTOR}"]
