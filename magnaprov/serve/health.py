"""/healthz: 200 while the database answers, 503 otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse

__all__ = ["health_endpoint"]

PROBE_TIMEOUT_SECONDS = 2.0


def health_endpoint(engine: AsyncEngine) -> Callable[[Request], Awaitable[JSONResponse]]:
    """A Starlette endpoint probing `engine` with a bounded `SELECT 1`."""

    async def healthz(_request: Request) -> JSONResponse:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS), engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError, TimeoutError):
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable"}, status_code=503
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    return healthz
