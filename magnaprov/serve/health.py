"""/healthz: 200 while the database answers, 503 otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse

from magnaprov.serve.database_errors import DATABASE_ERRORS, RETRY_AFTER_SECONDS

__all__ = ["health_endpoint"]

PROBE_TIMEOUT_SECONDS = 2.0


def health_endpoint(engine: AsyncEngine) -> Callable[[Request], Awaitable[JSONResponse]]:
    """A Starlette endpoint probing `engine` with a bounded `SELECT 1`."""

    async def healthz(_request: Request) -> JSONResponse:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS), engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except DATABASE_ERRORS:  # the driver's own errors too: it raises some unwrapped
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable"},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    return healthz
