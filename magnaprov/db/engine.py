"""Engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

__all__ = [
    "COMMAND_TIMEOUT_SECONDS",
    "CONNECT_TIMEOUT_SECONDS",
    "WRITER",
    "begin_writing",
    "create_engine",
    "create_session_factory",
    "is_sqlite",
]

log = logging.getLogger("magnaprov.db")

# asyncpg waits 60 s for a connection by default: while PostgreSQL is unreachable (not refusing,
# just silent) every request would hang that long instead of failing fast with a 503.
CONNECT_TIMEOUT_SECONDS = 2.0
# What the server passes as `command_timeout`: no statement of a request takes this long, so a
# connection whose server vanished without closing it fails instead of hanging the request
# (and the pool's pre-ping) until TCP gives up. Migrations and bulk commands keep no limit.
COMMAND_TIMEOUT_SECONDS = 30.0
# asyncpg prepares every statement, and after five runs PostgreSQL may switch a prepared
# statement to a generic plan, planned without the parameters' values. For the tenant scope
# ("tree_path LIKE $1") that plan guesses the pattern matches almost nothing and picks nested
# loops: a 1,000-device page took 12 ms instead of 2. Planning with the values costs well under
# a millisecond per statement.
POSTGRESQL_SETTINGS = {"plan_cache_mode": "force_custom_plan"}
# Execution options of a transaction that will write. On SQLite it begins IMMEDIATE, taking the
# write lock up front (see `_begin_sqlite_transaction`); PostgreSQL ignores them.
WRITER = {"sqlite_begin": "IMMEDIATE"}


def is_sqlite(url: str) -> bool:
    """Whether the URL names an SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, command_timeout: float | None = None, **options: Any) -> AsyncEngine:
    """An async engine with the per-database settings the server relies on.

    On PostgreSQL (asyncpg) connecting gives up after `CONNECT_TIMEOUT_SECONDS`, each
    statement after `command_timeout` seconds when one is given, and statements are always
    planned with their parameters (`POSTGRESQL_SETTINGS`).
    """
    if not is_sqlite(url):
        options.setdefault("pool_pre_ping", True)
        if make_url(url).get_driver_name() == "asyncpg":
            connect_args = {
                "timeout": CONNECT_TIMEOUT_SECONDS,
                "server_settings": POSTGRESQL_SETTINGS,
                **options.pop("connect_args", {}),
            }
            if command_timeout is not None:
                connect_args.setdefault("command_timeout", command_timeout)
            options["connect_args"] = connect_args
        return create_async_engine(url, **options)
    _create_owner_only(url)
    engine = create_async_engine(url, connect_args={"timeout": 30}, **options)
    event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    event.listen(engine.sync_engine, "begin", _begin_sqlite_transaction)
    return engine


def _create_owner_only(url: str) -> None:
    """Create the SQLite file readable by its owner only, before SQLite does (with 0644).

    SQLite gives the files beside it (-wal, -shm, -journal) the database file's permissions,
    so they are owner-only too. A file that exists is left as it is, with a warning if others
    may read it: its mode may be the operator's choice (a backup group, say).
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("database %s is readable by other users: chmod 600 it", path)
    except OSError:
        return  # a folder that does not exist, say: SQLite reports it on connecting


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, open transactions, so SAVEPOINT and BEGIN work as documented.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Lets "tree_path LIKE '/1/4/%'" use the index (paths hold only digits and slashes).
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()


def _begin_sqlite_transaction(connection: Any) -> None:
    # Reads begin DEFERRED (WAL readers never block). Writers ask for IMMEDIATE through the
    # "sqlite_begin" execution option: it takes the write lock up front, so two writers queue
    # on busy_timeout instead of one failing with "database is locked" when it upgrades.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    if mode not in {"DEFERRED", "IMMEDIATE"}:
        raise ValueError(f"unknown SQLite transaction mode {mode!r}")
    connection.exec_driver_sql(f"BEGIN {mode}")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that never expire loaded rows, so no attribute access does hidden I/O."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def begin_writing(session: AsyncSession) -> None:
    """Begin the session's transaction as a writer (see `WRITER`)."""
    await session.connection(execution_options=WRITER)
