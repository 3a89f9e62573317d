"""PostgreSQL: pg_dump (custom format) of the configured database, and pg_restore into it.

The programs get the connection from libpq's environment variables, built from the database
URL, so the password never appears on a command line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from magnaprov.db import create_engine

__all__ = [
    "dump_postgres",
    "libpq_environment",
    "postgres_tables",
    "restore_postgres",
]

# asyncpg's `ssl` query parameter and libpq's `sslmode` take the same words.
_SSL_PARAMETERS = ("sslmode", "ssl")


def libpq_environment(database_url: str) -> dict[str, str]:
    """PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and PGSSLMODE from a database URL."""
    url = make_url(database_url)
    variables = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    for name in _SSL_PARAMETERS:
        value = url.query.get(name)
        if isinstance(value, str):
            variables["PGSSLMODE"] = value
    return {name: value for name, value in variables.items() if value}


def dump_postgres(database_url: str, target: Path) -> None:
    """`pg_dump --format=custom` of the database into `target` (one consistent snapshot)."""
    _run("pg_dump", database_url, "--format=custom", "--no-owner", "--no-privileges",
         f"--file={target}")  # fmt: skip


def restore_postgres(database_url: str, dump: Path) -> None:
    """`pg_restore` of a custom-format dump into the (empty) database, in one transaction."""
    database = make_url(database_url).database or ""
    _run("pg_restore", database_url, "--no-owner", "--no-privileges", "--exit-on-error",
         "--single-transaction", f"--dbname={database}", str(dump))  # fmt: skip


async def postgres_tables(database_url: str) -> list[str]:
    """Names of the tables in the database's user schemas."""
    rows = await _fetch(
        database_url,
        "SELECT schemaname || '.' || tablename FROM pg_catalog.pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    )
    return [str(name) for name in rows]


async def _fetch(database_url: str, statement: str) -> list[object]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return list((await connection.scalars(text(statement))).all())
    finally:
        await engine.dispose()


def _run(program: str, database_url: str, *arguments: str) -> None:
    executable = shutil.which(program)
    if executable is None:
        raise RuntimeError(
            f"{program} is not installed or not on PATH (PostgreSQL client programs, e.g. "
            "Debian's postgresql-client, of the server's major version or newer)"
        )
    environment = {**os.environ, **libpq_environment(database_url)}
    result = subprocess.run(  # noqa: S603 - fixed program, arguments built here
        [executable, *arguments], env=environment, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{program} failed: {result.stderr.strip() or result.stdout.strip()}")
