"""Alembic revisions of a database and of this release's migrations."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError

from magnaprov.db.migrations import alembic_config

__all__ = ["head_revision", "is_known_revision", "sqlite_revision"]


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


def sqlite_revision(path: Path) -> str:
    """The revision an SQLite database file is at."""
    with contextlib.closing(sqlite3.connect(path)) as connection:
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            row = None
    if row is None:
        raise ValueError("the database has no migration revision: it was never migrated")
    return str(row[0])
