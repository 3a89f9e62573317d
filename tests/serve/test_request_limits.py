"""Transport limits of /graphql: every malformed or oversized request gets a clear 4xx, never a 5xx.

The app is wrapped here with a small body limit; wrapping an app that create_app already wraps
is harmless (the outer instance checks, the inner one steps aside).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Message, Receive, Scope, Send

from magnaprov.serve.app import create_app
from magnaprov.serve.request_limits import DEFAULT_MAX_BODY_BYTES, GraphQLRequestLimits
from magnaprov.settings import Settings

LIMIT = 4096
VIEWER = {"query": "{ viewer { id } }"}
JSON = {"content-type": "application/json"}


@pytest.fixture
async def http(engine: AsyncEngine, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app with a 4 KiB body limit."""
    app = GraphQLRequestLimits(create_app(settings, engine), max_body_bytes=LIMIT)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def refusal(response: httpx.Response, status: int, code: str) -> str:
    """The message of a transport refusal, after checking its status, shape and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": code}
    message: str = error["message"]
    return message


def padded(size: int) -> bytes:
    """A valid operation padded with spaces to exactly `size` bytes."""
    body = json.dumps(VIEWER).encode()
    return body + b" " * (size - len(body))


async def test_body_over_the_limit_is_refused_with_413(http):
    response = await http.post("/graphql", content=padded(LIMIT + 1), headers=JSON)
    assert "4096 bytes" in refusal(response, 413, "PAYLOAD_TOO_LARGE")


async def test_chunked_body_over_the_limit_is_refused_with_413(http):
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ viewer { id } }", "pad": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = await http.post("/graphql", content=chunks(), headers=JSON)
    assert response.request.headers["transfer-encoding"] == "chunked"
    refusal(response, 413, "PAYLOAD_TOO_LARGE")


async def test_body_of_exactly_the_limit_is_answered(http):
    response = await http.post("/graphql", content=padded(LIMIT), headers=JSON)
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": None}}


async def test_chunked_body_within_the_limit_is_answered(http):
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": '
        yield b'"{ viewer { id } }"}'

    response = await http.post("/graphql", content=chunks(), headers=JSON)
    assert response.json() == {"data": {"viewer": None}}


async def test_batch_is_refused_with_400(http):
    response = await http.post("/graphql", json=[VIEWER, VIEWER])
    assert "Batching is not supported" in refusal(response, 400, "BAD_REQUEST")


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/graphql",
        "application/json; charset=latin-1",
        "application/jsonx",
    ],
)
async def test_post_without_a_json_content_type_is_refused_with_415(http, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = await http.post("/graphql", content=json.dumps(VIEWER), headers=headers)
    message = refusal(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "application/json" in message


@pytest.mark.parametrize(
    "content_type", ["APPLICATION/JSON", "application/json; charset=UTF-8", "Application/Json ;"]
)
async def test_json_content_type_is_matched_regardless_of_case_and_charset(http, content_type):
    headers = {"content-type": content_type}
    response = await http.post("/graphql", content=json.dumps(VIEWER), headers=headers)
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": None}}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"query": ', "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"query": "\xff"}', "not valid UTF-8"),
        ('{"query": "{ viewer { id } }"}'.encode("utf-16"), "not valid UTF-8"),
        (b"\xef\xbb\xbf" + json.dumps(VIEWER).encode(), "not valid JSON"),
        (b"[" * 2000 + b"]" * 2000, "not valid JSON"),
        (b'"{ viewer { id } }"', "must be a JSON object"),
        (b"42", "must be a JSON object"),
        (b"null", "must be a JSON object"),
    ],
)
async def test_malformed_body_is_refused_with_400(http, body, expected):
    response = await http.post("/graphql", content=body, headers=JSON)
    assert expected in refusal(response, 400, "BAD_REQUEST")


async def test_object_that_is_not_an_operation_is_left_to_strawberry(http):
    response = await http.post("/graphql", json={"query": 5})
    assert response.status_code == 400
    assert "must be a string" in response.text


async def test_get_requests_pass_and_mutations_over_get_stay_refused(http):
    query = await http.get("/graphql", params=VIEWER, headers={"accept": "application/json"})
    assert query.json() == {"data": {"viewer": None}}
    mutation = await http.get(
        "/graphql",
        params={"query": "mutation { logout { userErrors { code } } }"},
        headers={"accept": "application/json"},
    )
    assert mutation.status_code == 400


async def test_other_paths_are_not_limited(http):
    response = await http.get("/healthz", headers={"content-type": "text/plain"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ viewer { " + "parent { " * 15 + "id" + " }" * 15 + " } }", "exceeds maximum operation"),
        ("{ " + " ".join(f"a{n}: viewer {{ id }}" for n in range(31)) + " }", "aliases"),
        ("{ viewer { " + "id " * 4100 + "} }", "token"),
    ],
    ids=["depth", "aliases", "tokens"],
)
async def test_query_cost_limits_answer_200_with_a_clear_error(client, query, expected):
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert expected in body["errors"][0]["message"].lower()


async def test_create_app_mounts_the_limits_with_the_settings_default(client, settings):
    assert settings.graphql_max_body_bytes == DEFAULT_MAX_BODY_BYTES == 1024 * 1024
    response = await client.post(
        "/graphql", content=padded(DEFAULT_MAX_BODY_BYTES + 1), headers=JSON
    )
    refusal(response, 413, "PAYLOAD_TOO_LARGE")


# The rest drives the middleware alone, with a stand-in for the app behind it.


class Recorder:
    """An ASGI app that records the body it was given and answers 204."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        self.bodies.append(message["body"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def post_scope(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {"type": "http", "method": "POST", "path": "/graphql", "headers": headers}


async def drive(app: Any, scope: Scope, messages: list[Message]) -> list[Message]:
    """Run `app` on `messages`, then a disconnect; what it sent."""
    pending = [*messages, {"type": "http.disconnect"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return pending.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_a_declared_length_over_the_limit_is_refused_before_reading():
    inner = Recorder()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"4097")]
    sent = await drive(GraphQLRequestLimits(inner, max_body_bytes=LIMIT), post_scope(headers), [])
    assert sent[0]["status"] == 413
    assert inner.bodies == []


async def test_a_content_length_that_is_no_number_is_refused():
    headers = [(b"content-type", b"application/json"), (b"content-length", "\u00b2".encode())]
    app = GraphQLRequestLimits(Recorder(), max_body_bytes=LIMIT)
    sent = await drive(app, post_scope(headers), [])
    assert sent[0]["status"] == 400


async def test_streamed_chunks_are_joined_and_replayed_to_the_app():
    inner = Recorder()
    chunks = [b'{"query": ', b'"{ viewer { id } }"', b"}"]
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": index < 2}
        for index, chunk in enumerate(chunks)
    ]
    scope = post_scope([(b"content-type", b"application/json")])
    sent = await drive(GraphQLRequestLimits(inner, max_body_bytes=LIMIT), scope, messages)
    assert sent[0]["status"] == 204
    assert inner.bodies == [b"".join(chunks)]


async def test_a_client_that_disconnects_mid_body_gets_no_answer():
    inner = Recorder()
    scope = post_scope([(b"content-type", b"application/json")])
    messages: list[Message] = [{"type": "http.request", "body": b"{", "more_body": True}]
    assert await drive(GraphQLRequestLimits(inner), scope, messages) == []
    assert inner.bodies == []


async def test_wrapping_twice_checks_once_with_the_outer_limit():
    inner = Recorder()
    app = GraphQLRequestLimits(GraphQLRequestLimits(inner, max_body_bytes=10), max_body_bytes=LIMIT)
    scope = post_scope([(b"content-type", b"application/json")])
    body = json.dumps(VIEWER).encode()
    sent = await drive(app, scope, [{"type": "http.request", "body": body, "more_body": False}])
    assert sent[0]["status"] == 204
    assert inner.bodies == [body]
