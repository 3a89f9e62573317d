"""/readyz, and the wait at start-up until the server can do its work.

Ready means: the database answers, it is at the migration head of this code (computed once,
when the app is built), and the keyring opens the stored secrets (see `probe_keyring`).
/healthz stays the liveness probe: a process that is alive but not ready must not be
restarted, only kept out of the load balancer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse

from magnaprov.db.migrations import database_revisions, script_heads, script_revisions
from magnaprov.resolvers.keyring_probe import probe_keyring
from magnaprov.serve.database_errors import DATABASE_ERRORS, RETRY_AFTER_SECONDS
from magnaprov.tenancy import SecretBox

__all__ = [
    "Readiness",
    "ReadinessProbe",
    "database_checks",
    "readiness_endpoint",
    "wait_for",
    "wait_for_database",
]

log = logging.getLogger("magnaprov.readiness")

PROBE_TIMEOUT_SECONDS = 2.0
RETRY_SECONDS = 1.0
OK = "ok"
NOT_CHECKED = "not checked"


@dataclass(frozen=True, slots=True)
class Readiness:
    """Each check's verdict: "ok", or why not."""

    checks: dict[str, str]

    @property
    def failed(self) -> list[str]:
        """The checks that did not pass, in the order they ran."""
        return [name for name, verdict in self.checks.items() if verdict != OK]

    @property
    def ready(self) -> bool:
        """Whether every check passed."""
        return not self.failed

    def describe(self) -> str:
        """The failed checks and their reasons, for a log line."""
        return "; ".join(f"{name}: {self.checks[name]}" for name in self.failed) or "ready"


class ReadinessProbe:
    """Runs the checks against the server's own engine and keyring."""

    def __init__(
        self,
        engine: AsyncEngine,
        session_factory: async_sessionmaker[AsyncSession],
        secrets: SecretBox,
    ) -> None:
        self._engine = engine
        self._sessions = session_factory
        self._secrets = secrets
        self._heads = script_heads()

    async def check(self, *, keyring: bool = True) -> Readiness:
        """The database and migration checks, then (with `keyring`) the keyring's."""
        checks = await database_checks(self._engine, self._heads)
        if keyring:
            ready = checks["database"] == OK
            checks["keyring"] = await self._keyring_verdict() if ready else NOT_CHECKED
        return Readiness(checks)

    async def wait_until_serving(self, bound_seconds: float) -> None:
        """Return once the database answers at the migration head; RuntimeError after
        `bound_seconds` without."""
        await wait_for(lambda: self.check(keyring=False), bound_seconds)

    async def _keyring_verdict(self) -> str:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS), self._sessions() as session:
                problem = await probe_keyring(session, self._secrets)
        except DATABASE_ERRORS as error:
            return f"stored secrets unreadable ({type(error).__name__})"
        return problem or OK


async def database_checks(engine: AsyncEngine, heads: frozenset[str] | None) -> dict[str, str]:
    """Whether the database answers and (unless `heads` is None) is at those revisions."""
    checks = {"database": NOT_CHECKED}
    if heads is not None:
        checks["migrations"] = NOT_CHECKED
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            checks["database"] = OK
            if heads is not None:
                checks["migrations"] = _migrations_verdict(
                    await database_revisions(connection), heads
                )
    except DATABASE_ERRORS as error:  # the driver's own errors too: it raises some unwrapped
        checks["database"] = f"unreachable ({type(error).__name__})"
    return checks


def _migrations_verdict(revisions: frozenset[str], heads: frozenset[str]) -> str:
    if revisions == heads:
        return OK
    if revisions and not revisions & script_revisions():
        # Migrated by a newer release during a rolling upgrade: its migrations only expand,
        # so this release serves on (README, "Upgrading").
        return OK
    found = ", ".join(sorted(revisions)) or "none"
    return f"database at revision {found}, this code needs {', '.join(sorted(heads))}"


async def wait_for(check: Callable[[], Awaitable[Readiness]], bound_seconds: float) -> None:
    """Return once `check()` is ready; RuntimeError after `bound_seconds` without. Logs what
    it waits for when it starts waiting, and again whenever that changes."""
    deadline = time.monotonic() + bound_seconds
    reported = ""
    while not (state := await check()).ready:
        if time.monotonic() >= deadline:
            raise RuntimeError(
                f"not ready after {bound_seconds:g} s (MAGNAPROV_STARTUP_WAIT_SECONDS): "
                f"{state.describe()}"
            )
        if state.describe() != reported:
            reported = state.describe()
            log.warning(
                "waiting up to %g s, retrying every %g s: %s", bound_seconds, RETRY_SECONDS,
                reported, extra={"failed": state.failed},
            )  # fmt: skip
        await asyncio.sleep(RETRY_SECONDS)
    if reported:
        log.info("ready: %s", ", ".join(f"{name} ok" for name in state.checks))


async def wait_for_database(engine: AsyncEngine, bound_seconds: float) -> None:
    """Return once `engine`'s database answers (before migrating it); RuntimeError after
    `bound_seconds` without."""

    async def answers() -> Readiness:
        return Readiness(await database_checks(engine, None))

    await wait_for(answers, bound_seconds)


def readiness_endpoint(probe: ReadinessProbe) -> Callable[[Request], Awaitable[JSONResponse]]:
    """A Starlette endpoint: 200 when every check passes, else 503 naming the failed ones."""

    async def readyz(_request: Request) -> JSONResponse:
        state = await probe.check()
        if state.ready:
            return JSONResponse(
                {"status": "ready", "checks": state.checks}, headers={"Cache-Control": "no-store"}
            )
        return JSONResponse(
            {"status": "unavailable", "failed": state.failed, "checks": state.checks},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
        )

    return readyz
