"""Transport limits for POST /graphql, answered before Strawberry sees the request.

Strawberry has no bound on the body, answers some malformed bodies with a 500 (a JSON string
or number, invalid UTF-8, JSON nested thousands deep) and others in plain text. Here every
transport problem gets a 4xx with a GraphQL-shaped JSON error; what the query asks for (depth,
tokens, aliases) stays with the schema's own limits.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_MAX_BODY_BYTES", "GraphQLRequestLimits"]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# Set on the scope by the outermost instance, so that wrapping twice checks once.
_CHECKED = "magnaprov.graphql_request_limits"


class _Refusal(Exception):
    """A transport problem: its status, code and message make the response."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> JSONResponse:
        error = {"message": self.message, "extensions": {"code": self.code}}
        return JSONResponse({"errors": [error]}, status_code=self.status)


class GraphQLRequestLimits:
    """Pure ASGI middleware for POST requests to `path` (other requests pass untouched).

    Refuses, with a JSON `{"errors": [{"message", "extensions": {"code"}}]}`:
    a body over `max_body_bytes` (413 PAYLOAD_TOO_LARGE; the Content-Length is checked before
    reading, and the bytes of a chunked body are counted as they arrive), a Content-Type other
    than application/json in UTF-8 (415 UNSUPPORTED_MEDIA_TYPE), and a body that is not one
    JSON object: invalid UTF-8 or JSON, a batch (array) or any other value (400 BAD_REQUEST).
    An accepted body is replayed to the app from memory.
    """

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, path: str = "/graphql"
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get(_CHECKED) or _route_path(scope) != self.path:
            await self.app(scope, receive, send)
            return
        scope = {**scope, _CHECKED: True}
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            headers = Headers(scope=scope)
            _check_content_type(headers.get("content-type"))
            self._check_declared_length(headers.get("content-length"))
            body = await self._read_body(receive)
            if body is None:
                return  # the client went away
            _check_json_object(body)
        except _Refusal as refusal:
            await refusal.response()(scope, receive, send)
            return
        await self.app(_with_json_content_type(scope), _replay(body, receive), send)

    def _check_declared_length(self, declared: str | None) -> None:
        if declared is None:
            return
        if not (declared.isascii() and declared.isdigit()):
            raise _Refusal(400, "BAD_REQUEST", "Content-Length must be a number of bytes.")
        if int(declared) > self.max_body_bytes:
            raise self._too_large()

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None on disconnect; a _Refusal as soon as it grows too large."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> _Refusal:
        return _Refusal(
            413,
            "PAYLOAD_TOO_LARGE",
            f"The request body exceeds the limit of {self.max_body_bytes} bytes.",
        )


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path[len(root_path) :] if root_path and path.startswith(root_path) else path


def _check_content_type(content_type: str | None) -> None:
    media_type, *parameters = (content_type or "").split(";")
    charset = next(
        (
            value.strip().strip('"').lower()
            for name, _, value in (parameter.partition("=") for parameter in parameters)
            if name.strip().lower() == "charset"
        ),
        "utf-8",
    )
    if media_type.strip().lower() != "application/json" or charset not in ("utf-8", "utf8"):
        shown = f"'{content_type}'" if content_type else "no Content-Type"
        raise _Refusal(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"Send the operation as a JSON object with Content-Type application/json (UTF-8), "
            f"not {shown}.",
        )


def _check_json_object(body: bytes) -> None:
    try:
        # JSON on the wire is UTF-8 (RFC 8259); the C decoder stops deep nesting with
        # a RecursionError, which would otherwise be a 500.
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise _Refusal(400, "BAD_REQUEST", "The request body is not valid UTF-8.") from error
    except (ValueError, RecursionError) as error:
        raise _Refusal(
            400, "BAD_REQUEST", f"The request body is not valid JSON: {error}"
        ) from error
    if isinstance(document, list):
        raise _Refusal(
            400, "BAD_REQUEST", "Batching is not supported: send one operation per request."
        )
    if not isinstance(document, dict):
        raise _Refusal(
            400, "BAD_REQUEST", 'The request body must be a JSON object such as {"query": "..."}.'
        )


def _with_json_content_type(scope: Scope) -> Scope:
    """The scope with the media type as Strawberry expects it (it compares case-sensitively)."""
    headers = [(name, value) for name, value in scope["headers"] if name != b"content-type"]
    return {**scope, "headers": [*headers, (b"content-type", b"application/json")]}


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands out the buffered body once, then listens to the client again."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
