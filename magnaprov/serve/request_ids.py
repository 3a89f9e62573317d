"""Request ids: one per HTTP request, returned as `X-Request-ID` and carried by its log lines.

A caller's own id (a proxy's, a client's) is echoed when it looks like one: 1 to 64 letters,
digits, `.`, `_` or `-`. Anything else is replaced, so a header cannot forge or break a line.
New ids are a random per-process prefix and a counter: unique across workers and restarts,
and cheaper than a UUID on the phone routes, where every request takes one.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Iterable
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HEADER", "REQUEST_ID", "RequestIds", "request_id_of"]

HEADER = b"x-request-id"
# The id of the request the running code serves; None outside any request (start-up, timers).
REQUEST_ID: ContextVar[str | None] = ContextVar("magnaprov_request_id", default=None)

_VALID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
_PREFIX = secrets.token_hex(6)
_COUNTER = itertools.count(1)


def request_id_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's valid `X-Request-ID`, or a new id; set as the running request's id."""
    for name, value in headers:
        if name == HEADER:
            if _VALID.fullmatch(value):
                found = value.decode("ascii")
                REQUEST_ID.set(found)
                return found
            break
    new = f"{_PREFIX}-{next(_COUNTER):x}"
    REQUEST_ID.set(new)
    return new


class RequestIds:
    """ASGI middleware: gives each HTTP request its id and adds it to the response headers."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        header = (HEADER, request_id_of(scope["headers"]).encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self._app(scope, receive, send_with_id)
