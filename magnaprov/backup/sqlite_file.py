"""SQLite: a consistent copy of a live database file, and putting one in place."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

__all__ = [
    "database_path",
    "snapshot_sqlite",
    "sqlite_revision",
    "sqlite_tables",
    "write_sqlite",
]


def database_path(database_url: str) -> Path:
    """The file an SQLite URL names; ValueError for an in-memory database."""
    name = make_url(database_url).database
    if not name or name == ":memory:":
        raise ValueError("MAGNAPROV_DATABASE_URL names an in-memory SQLite database: no file")
    return Path(name)


def snapshot_sqlite(source: Path, target: Path) -> None:
    """Copy `source` into `target` with SQLite's online backup API, in one step.

    One step reads a single snapshot (WAL readers never block the server's writers, nor are
    blocked by them), so the copy is consistent however busy the server is.
    """
    if not source.is_file():
        raise ValueError(f"the SQLite database {source} does not exist")
    with (
        contextlib.closing(sqlite3.connect(source, timeout=30)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


def sqlite_tables(path: Path) -> list[str]:
    """The tables of the database at `path` (none when the file is missing or empty)."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as connection:
        rows = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
    return sorted(str(name) for (name,) in rows)


def write_sqlite(snapshot: Path, target: Path) -> None:
    """Put `snapshot` at `target` atomically (durable before the rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.restoring")
    try:
        with snapshot.open("rb") as source, temporary.open("wb") as out:
            while chunk := source.read(1024 * 1024):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        # A WAL left by an earlier, empty database must not be replayed over the snapshot.
        for suffix in ("-wal", "-shm"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def sqlite_revision(path: Path) -> str:
    """The revision an SQLite database file (a snapshot) is at."""
    with contextlib.closing(sqlite3.connect(path)) as connection:
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            row = None
    if row is None:
        raise ValueError("the database has no migration revision: it was never migrated")
    return str(row[0])
