"""Shared fixtures: every database test runs once on SQLite and once on PostgreSQL.

PostgreSQL comes from MAGNAPROV_TEST_DATABASE_URL (CI creates a throwaway database and passes
it), or else a throwaway database is created here on the server at
MAGNAPROV_TEST_POSTGRES_ADMIN_URL (default: user postgres on 127.0.0.1:5432) and dropped at the
end. Without a reachable server the PostgreSQL half is skipped, except under CI=true, where a
skip would hide a failure and is turned into one.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.db import Base, create_engine, create_session_factory, is_sqlite
from magnaprov.db.migrations import upgrade_to_head
from magnaprov.resolvers import Services
from magnaprov.serve.app import create_app
from magnaprov.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get(
    "MAGNAPROV_TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
# In CI, property tests replay the same examples every run, so a red build always means a
# change broke something; locally they explore new examples each time.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile("ci" if IN_CI else "dev")

# A fixed keyring for the secrets of test rows (never used outside tests).
TEST_KEYRING = "testkey1:" + base64.b64encode(bytes(range(32))).decode()


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for tests: cheap argon2 so hundreds of accounts hash in milliseconds."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 64,
        "argon2_parallelism": 1,
        "password_hash_concurrency": 4,
        "secrets_keys": TEST_KEYRING,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


async def _admin_execute(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database for the run: given by CI, or created here and dropped at the end."""
    given = os.environ.get("MAGNAPROV_TEST_DATABASE_URL")
    if given:
        yield given
        return
    name = f"magnaprov_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as error:
        _unavailable(str(error))
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
    yield url.render_as_string(hide_password=False)
    asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database of each kind; the test runs once per kind."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "magnaprov.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade_to_head(url)
    return url


@pytest.fixture(scope="session")
async def shared_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """One engine per database for the whole run."""
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def wipe(engine: AsyncEngine) -> None:
    """Delete every row, so each test starts from an empty, migrated database."""
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as connection:
        if is_sqlite(str(engine.url)):
            # The account tree refers to itself: check foreign keys at commit, when all are gone.
            await connection.execute(text("PRAGMA defer_foreign_keys=ON"))
            for table in tables:
                await connection.execute(text(f'DELETE FROM "{table}"'))  # noqa: S608
        else:
            names = ", ".join(f'"{table}"' for table in tables)
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def engine(shared_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The database engine; every row the test wrote is gone afterwards."""
    await wipe(shared_engine)
    yield shared_engine
    await wipe(shared_engine)


@pytest.fixture
def migrated_postgres(postgres_url: str) -> str:
    """The run's PostgreSQL database at head, for tests of several processes (PostgreSQL only)."""
    upgrade_to_head(postgres_url)
    return postgres_url


@pytest.fixture
async def pg_engine(migrated_postgres: str) -> AsyncIterator[AsyncEngine]:
    """An engine on that database, empty before and after the test."""
    engine = create_engine(migrated_postgres)
    await wipe(engine)
    yield engine
    await wipe(engine)
    await engine.dispose()


@pytest.fixture
def settings(engine: AsyncEngine) -> Settings:
    """Test settings pointing at the test's database."""
    return make_settings(engine.url.render_as_string(hide_password=False))


@pytest.fixture
def services(settings: Settings) -> Services:
    """Resolver services with cheap password hashing."""
    return Services.from_settings(settings)


@pytest.fixture
async def client(engine: AsyncEngine, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the ASGI app in-process."""
    app = create_app(settings, engine)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@dataclass
class GraphQL:
    """Sends GraphQL documents to /graphql and returns the decoded answer."""

    http: httpx.AsyncClient

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQL:
    """The GraphQL caller bound to the test's app."""
    return GraphQL(client)


class StatementCounter:
    """Counts SQL statements sent through an engine while active."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.count = 0

    def _on_execute(self, *_args: Any) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        self.count = 0
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine.sync_engine, "before_cursor_execute", self._on_execute)


@pytest.fixture
def count_statements(engine: AsyncEngine) -> StatementCounter:
    """A counter of the SQL statements the test sends (use as a context manager)."""
    return StatementCounter(engine)


@pytest.fixture
def session_factory(engine: AsyncEngine) -> Any:
    """Sessions on the test's database, for arranging data and checking rows directly."""
    return create_session_factory(engine)


PROJECT_ROOT = Path(__file__).resolve().parents[1]
