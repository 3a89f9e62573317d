"""Telling "the database cannot be reached" from other failures, and the 503 that answers it.

While PostgreSQL is down (stopped, restarting, unreachable), every request that needs it fails
the same way: the pool cannot connect (refused, timed out, "the database system is shutting
down") or a connection dies under a statement ("terminating connection due to administrator
command"). Those are not bugs to mask as "Unexpected error." behind a 200: the client should
retry later, so the API says so with a 503. Anything else keeps its usual handling.
"""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.responses import JSONResponse

__all__ = [
    "DATABASE_ERRORS",
    "DATABASE_LOST_MESSAGE",
    "DATABASE_UNAVAILABLE_CODE",
    "DATABASE_UNAVAILABLE_MESSAGE",
    "RETRY_AFTER_SECONDS",
    "DatabaseUnavailable",
    "database_unreachable",
    "unavailable_response",
]

DATABASE_UNAVAILABLE_CODE = "DATABASE_UNAVAILABLE"
DATABASE_UNAVAILABLE_MESSAGE = "The database is unavailable; nothing was changed. Try again later."
# For the failed part of a request whose earlier writes did commit: not a 503, since not all
# of it failed, and the client must read back what it changed.
DATABASE_LOST_MESSAGE = (
    "The database became unavailable part-way through this request; some of its changes were saved."
)
RETRY_AFTER_SECONDS = 5
# Whatever a probe of the database may raise when it is not answering (for /healthz).
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    SQLAlchemyError,
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)
_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, no route, no socket file
    TimeoutError,  # connect or command timeout
    PoolTimeoutError,  # every pooled connection is stuck waiting for the server
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, and the connection was lost
    asyncpg.OperatorInterventionError,  # class 57: shutting down, starting up, terminated
    asyncpg.TooManyConnectionsError,
)


class DatabaseUnavailable(Exception):
    """A request failed because the database could not be reached."""


def database_unreachable(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from, means the database is out of reach."""
    current: BaseException | None = error
    for _ in range(8):  # SQLAlchemy wraps the driver's error, which may wrap the socket's
        if current is None:
            return False
        if isinstance(current, _UNREACHABLE):
            return True
        if isinstance(current, DBAPIError):
            if current.connection_invalidated:
                return True
            current = current.orig or current.__cause__
        else:
            current = current.__cause__
    return False


def unavailable_response() -> JSONResponse:
    """The 503 for an API request, shaped like a GraphQL answer with one error."""
    body = {
        "errors": [
            {
                "message": DATABASE_UNAVAILABLE_MESSAGE,
                "extensions": {"code": DATABASE_UNAVAILABLE_CODE},
            }
        ]
    }
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    return JSONResponse(body, status_code=503, headers=headers)
