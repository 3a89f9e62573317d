"""A new, empty database beside the test's own: a file for SQLite, a database created on the
same PostgreSQL server (and dropped, connections and all, at the end)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from magnaprov.db import is_sqlite

__all__ = ["new_database"]


@asynccontextmanager
async def new_database(beside: str, folder: Path) -> AsyncIterator[str]:
    """The URL of an empty database of the same kind and server as `beside`."""
    if is_sqlite(beside):
        yield f"sqlite+aiosqlite:///{folder / 'new.db'}"
        return
    url = make_url(beside)
    name = f"{url.database}_new_{secrets.token_hex(3)}"
    await _execute(beside, f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await _execute(beside, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _execute(database_url: str, statement: str) -> None:
    url = make_url(database_url).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False), timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()
