"""Login throttling per login and per address, in memory and shared through Redis; audited."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any

import httpx
import pytest
from account_tree import Member, build_tree
from conftest import GraphQL, make_settings
from redis.asyncio import Redis
from redis.exceptions import RedisError

from magnaprov.resolvers import Services
from magnaprov.resolvers.auth import login
from magnaprov.resolvers.database import RequestDatabase
from magnaprov.serve.app import create_app
from magnaprov.tenancy import PasswordHasher
from magnaprov.tenancy.passwords import HasherShares

REDIS_URL = os.environ.get("MAGNAPROV_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LOGIN = """mutation($login: String!, $password: String!) {
  login(login: $login, password: $password) { token userErrors { field code message } } }"""
AUDIT = """query { auditLog(objectType: "account", first: 100) {
  totalCount nodes { action actorLogin clientAddress details } } }"""
# A window of one second: the test waits it out instead of minutes.
LIMITS = {"login_attempts_per_login": 3, "login_attempts_per_address": 6, "login_window_seconds": 1}

AppFactory = Callable[..., GraphQL]


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


@pytest.fixture
async def make_gql(engine: Any) -> AsyncIterator[AppFactory]:
    """Builds an app with these settings and a GraphQL caller from one client address."""
    async with AsyncExitStack() as stack:

        def make(address: str = "198.51.100.1", **overrides: Any) -> GraphQL:
            url = engine.url.render_as_string(hide_password=False)
            app = create_app(make_settings(url, **{**LIMITS, **overrides}), engine)
            stack.push_async_callback(app.state.services.close)
            transport = httpx.ASGITransport(app=app, client=(address, 40000))
            http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            stack.push_async_callback(http.aclose)
            return GraphQL(http)

        yield make


async def attempt(gql: GraphQL, login_name: str, password: str) -> dict[str, Any]:
    body = await gql(LOGIN, {"login": login_name, "password": password})
    payload: dict[str, Any] = body["data"]["login"]
    return payload


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


async def test_after_too_many_wrong_passwords_the_right_one_is_refused_until_the_window_passes(
    make_gql, tree
):
    gql = make_gql()
    u1 = tree["u1"]
    for _ in range(3):
        assert codes(await attempt(gql, u1.login, "wrong-password")) == ["INVALID_CREDENTIALS"]
    refused = await attempt(gql, u1.login, u1.password)
    assert refused["token"] is None
    assert codes(refused) == ["THROTTLED"]
    assert "Too many login attempts" in refused["userErrors"][0]["message"]
    await asyncio.sleep(1.1)  # the one-second window passes
    accepted = await attempt(gql, u1.login, u1.password)
    assert accepted["userErrors"] == [] and accepted["token"]


async def test_one_address_trying_many_logins_is_throttled(make_gql, tree):
    gql = make_gql()
    names = ["u1", "u2", "u3", "u4", "o1", "o2"]
    for name in names:
        assert codes(await attempt(gql, name, "wrong-password")) == ["INVALID_CREDENTIALS"]
    assert codes(await attempt(gql, "o3", tree["o3"].password)) == ["THROTTLED"]
    other_address = make_gql(address="198.51.100.2")
    assert (await attempt(other_address, "o3", tree["o3"].password))["token"]


async def test_unknown_and_known_logins_answer_alike_throttled_or_not(make_gql, tree):
    gql = make_gql(login_attempts_per_address=100)
    answers: dict[str, list[dict[str, Any]]] = {}
    for name in ("u1", "no.such.user"):
        answers[name] = [await attempt(gql, name, "wrong-password") for _ in range(5)]
    assert answers["u1"] == answers["no.such.user"]
    assert [codes(a) for a in answers["u1"]] == [["INVALID_CREDENTIALS"]] * 3 + [["THROTTLED"]] * 2


async def redis_or_skip() -> Redis:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        await client.aclose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"no Redis at {REDIS_URL}: {error}")
        pytest.skip(f"no Redis at {REDIS_URL}: {error}")
    return client


async def test_a_redis_backed_limit_is_shared_by_two_app_instances(make_gql, tree):
    client = await redis_or_skip()
    prefix = f"test:login:{secrets.token_hex(8)}"
    try:
        first = make_gql(redis_url=REDIS_URL, rate_limit_key_prefix=prefix)
        second = make_gql(redis_url=REDIS_URL, rate_limit_key_prefix=prefix)
        u1 = tree["u1"]
        for gql in (first, second, first):
            assert codes(await attempt(gql, u1.login, "wrong-password")) == ["INVALID_CREDENTIALS"]
        assert codes(await attempt(second, u1.login, u1.password)) == ["THROTTLED"]
        assert [key async for key in client.scan_iter(match=f"{prefix}*")]
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_failed_and_successful_logins_are_audited_without_the_password(make_gql, tree, gql):
    throttled = make_gql()
    await attempt(throttled, "u1", "Secret-Wrong-1")
    await attempt(throttled, "nobody.here", "Secret-Wrong-2")
    await attempt(throttled, "u1", tree["u1"].password)
    log = (await gql(AUDIT, token=tree["admin"].token))["data"]["auditLog"]
    attempts = [e for e in log["nodes"] if e["clientAddress"] == "198.51.100.1"]
    assert [(e["action"], json.loads(e["details"])["login"]) for e in attempts] == [
        ("login.failed", "u1"),
        ("login.failed", "nobody.here"),
        ("login.succeeded", "u1"),
    ]
    assert "Secret-Wrong" not in str(log) and tree["u1"].password not in str(log)
    # The organization above u1 reads u1's attempts; the unknown name is the admin's alone.
    o1 = (await gql(AUDIT, token=tree["o1"].token))["data"]["auditLog"]
    o1_attempts = [e for e in o1["nodes"] if e["clientAddress"] == "198.51.100.1"]
    assert [e["action"] for e in o1_attempts] == ["login.failed", "login.succeeded"]
    sibling = (await gql(AUDIT, token=tree["o3"].token))["data"]["auditLog"]
    assert all(e["clientAddress"] != "198.51.100.1" for e in sibling["nodes"])


class CountingHasher(PasswordHasher):
    """The real hasher, counting the verifications it runs."""

    verified = 0

    async def verify(self, password_hash: str, password: str) -> bool:
        CountingHasher.verified += 1
        return await super().verify(password_hash, password)


async def test_an_address_over_its_share_of_the_hashers_is_refused_without_hashing(
    session_factory, services, tree
):
    counting = CountingHasher(time_cost=1, memory_kib=64, parallelism=1, concurrency=2)
    mine: Services = replace(services, hasher=counting, hasher_shares=HasherShares(2))
    db = RequestDatabase(session_factory())
    CountingHasher.verified = 0
    try:
        async with mine.hasher_shares.claim("192.0.2.9") as held:
            assert held
            issued, problems = await login(db, mine, "u1", tree["u1"].password, "192.0.2.9")
            assert issued is None
            assert [e.code for e in problems.errors] == ["THROTTLED"]
            assert CountingHasher.verified == 0
            issued, problems = await login(db, mine, "u2", tree["u2"].password, "192.0.2.10")
            assert issued is not None and not problems
            assert CountingHasher.verified == 1
    finally:
        await db.close()


async def test_each_address_holds_at_most_half_the_hashers():
    shares = HasherShares(4)
    async with shares.claim("a") as one, shares.claim("a") as two, shares.claim("a") as three:
        assert (one, two, three) == (True, True, False)
        async with shares.claim("b") as other:
            assert other
    async with shares.claim("a") as again:
        assert again
    assert HasherShares(1).per_address == 1
