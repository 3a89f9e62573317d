import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from magnaprov.serve.miss_guard import (
    MemoryMissGuard,
    MissGuard,
    MissGuardSettings,
    RedisMissGuard,
    create_miss_guard,
)

REDIS_URL = os.environ.get("MAGNAPROV_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SETTINGS = MissGuardSettings(threshold=3, window_seconds=0.4, ban_seconds=0.4)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    """Builds guards on one backend and lets time pass for them."""

    make: Callable[[MissGuardSettings], MissGuard]
    advance: Callable[[float], Awaitable[None]]
    guards: list[MissGuard] = field(default_factory=list)

    def guard(self, settings: MissGuardSettings = SETTINGS) -> MissGuard:
        made = self.make(settings)
        self.guards.append(made)
        return made


async def redis_client_or_skip() -> Redis:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        await client.aclose()
        message = f"no Redis server at {REDIS_URL}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return client


@asynccontextmanager
async def redis_namespace() -> AsyncIterator[str]:
    """A random key prefix on the test server, with every key under it deleted afterwards."""
    client = await redis_client_or_skip()
    prefix = f"test:missguard:{secrets.token_hex(8)}:"
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    async with redis_namespace() as prefix:
        yield prefix


def memory_backend() -> Backend:
    clock = FakeClock()

    async def advance(seconds: float) -> None:
        clock.now += seconds

    return Backend(lambda settings: MemoryMissGuard(settings, clock), advance)


def redis_backend(prefix: str) -> Backend:
    def make(settings: MissGuardSettings) -> MissGuard:
        return RedisMissGuard(replace(settings, redis_url=REDIS_URL, redis_key_prefix=prefix))

    return Backend(make, asyncio.sleep)


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    async with AsyncExitStack() as stack:
        if request.param == "memory":
            made = memory_backend()
        else:
            made = redis_backend(await stack.enter_async_context(redis_namespace()))
        yield made
        for guard in made.guards:
            await guard.close()


async def miss(guard: MissGuard, address: str, times: int) -> list[bool]:
    return [await guard.record_miss(address) for _ in range(times)]


async def test_fewer_misses_than_the_threshold_do_not_ban(backend: Backend) -> None:
    guard = backend.guard()
    assert await miss(guard, "192.0.2.1", SETTINGS.threshold - 1) == [False, False]
    assert not await guard.is_banned("192.0.2.1")
    assert guard.counters.bans == 0


async def test_the_miss_that_reaches_the_threshold_bans_the_address(backend: Backend) -> None:
    guard = backend.guard()
    assert await miss(guard, "192.0.2.1", SETTINGS.threshold) == [False, False, True]
    assert await guard.is_banned("192.0.2.1")
    assert (guard.counters.misses, guard.counters.bans) == (3, 1)


async def test_a_ban_leaves_other_addresses_alone(backend: Backend) -> None:
    guard = backend.guard()
    await miss(guard, "192.0.2.1", SETTINGS.threshold)
    assert not await guard.is_banned("192.0.2.2")
    assert await guard.record_miss("2001:db8::1") is False


async def test_a_ban_ends_after_ban_seconds(backend: Backend) -> None:
    guard = backend.guard()
    await miss(guard, "192.0.2.1", SETTINGS.threshold)
    await backend.advance(SETTINGS.ban_seconds / 2)
    assert await guard.is_banned("192.0.2.1")
    await backend.advance(SETTINGS.ban_seconds)
    assert not await guard.is_banned("192.0.2.1")


async def test_misses_further_apart_than_the_window_do_not_add_up(backend: Backend) -> None:
    guard = backend.guard()
    await miss(guard, "192.0.2.1", SETTINGS.threshold - 1)
    await backend.advance(SETTINGS.window_seconds * 1.5)
    assert await guard.record_miss("192.0.2.1") is False
    assert not await guard.is_banned("192.0.2.1")


async def test_a_miss_during_a_ban_extends_it_without_counting_a_new_ban(backend: Backend) -> None:
    guard = backend.guard()
    await miss(guard, "192.0.2.1", SETTINGS.threshold)
    await backend.advance(SETTINGS.ban_seconds * 0.6)
    assert await guard.record_miss("192.0.2.1") is True
    await backend.advance(SETTINGS.ban_seconds * 0.6)
    assert await guard.is_banned("192.0.2.1")
    assert guard.counters.bans == 1


async def test_after_a_ban_the_count_starts_afresh(backend: Backend) -> None:
    settings = replace(SETTINGS, window_seconds=SETTINGS.ban_seconds * 4)
    guard = backend.guard(settings)
    await miss(guard, "192.0.2.1", settings.threshold)
    await backend.advance(settings.ban_seconds * 1.5)
    assert await miss(guard, "192.0.2.1", settings.threshold - 1) == [False, False]
    assert not await guard.is_banned("192.0.2.1")


async def test_concurrent_misses_on_one_address_are_each_counted(backend: Backend) -> None:
    settings = replace(SETTINGS, threshold=100, window_seconds=30, ban_seconds=30)
    workers = [backend.guard(settings), backend.guard(settings)]
    if isinstance(workers[0], MemoryMissGuard):
        workers = [workers[0], workers[0]]  # memory state is per process
    below = [workers[i % 2].record_miss("192.0.2.9") for i in range(settings.threshold - 1)]
    assert not any(await asyncio.gather(*below))
    assert not await workers[0].is_banned("192.0.2.9")
    assert await workers[1].record_miss("192.0.2.9") is True
    assert await workers[0].is_banned("192.0.2.9")


async def test_many_concurrent_misses_start_exactly_one_ban(backend: Backend) -> None:
    settings = replace(SETTINGS, threshold=50, window_seconds=30, ban_seconds=30)
    guard = backend.guard(settings)
    outcomes = await asyncio.gather(*(guard.record_miss("192.0.2.7") for _ in range(80)))
    # The miss reaching the threshold starts the ban; each later one extends it.
    assert outcomes.count(True) == 80 - settings.threshold + 1
    assert guard.counters.bans == 1


async def test_memory_guard_forgets_the_least_recent_address_beyond_its_cap() -> None:
    settings = replace(SETTINGS, threshold=2, max_addresses=3)
    guard = MemoryMissGuard(settings, FakeClock())
    for address in ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]:
        await guard.record_miss(address)
    assert await guard.record_miss("10.0.0.1") is False  # evicted: its first miss was forgotten
    assert await guard.record_miss("10.0.0.4") is True


async def test_memory_guard_holds_at_most_its_cap_of_bans_newest_kept() -> None:
    settings = replace(SETTINGS, threshold=1, max_addresses=2)
    guard = MemoryMissGuard(settings, FakeClock())
    for address in ["10.0.0.1", "10.0.0.2", "10.0.0.3"]:
        await guard.record_miss(address)
    banned = [await guard.is_banned(a) for a in ["10.0.0.1", "10.0.0.2", "10.0.0.3"]]
    assert banned == [False, True, True]


async def test_one_off_misses_from_many_addresses_do_not_evict_a_ban() -> None:
    settings = replace(SETTINGS, threshold=2, max_addresses=2)
    guard = MemoryMissGuard(settings, FakeClock())
    await miss(guard, "10.0.0.1", 2)
    for n in range(10):
        await guard.record_miss(f"10.0.1.{n}")
    assert await guard.is_banned("10.0.0.1")


async def test_redis_keys_expire_so_idle_addresses_cost_nothing(redis_prefix: str) -> None:
    guard = redis_backend(redis_prefix).guard()
    client = Redis.from_url(REDIS_URL)
    try:
        await guard.record_miss("192.0.2.1")
        await miss(guard, "192.0.2.2", SETTINGS.threshold)
        keys = [key async for key in client.scan_iter(match=f"{redis_prefix}*")]
        ttls = [await client.pttl(key) for key in keys]
    finally:
        await client.aclose()
        await guard.close()
    assert len(keys) == 2  # a count for .1 and a ban for .2; the ban cleared .2's count
    assert all(0 < ttl <= 400 for ttl in ttls)


async def test_an_unreachable_redis_bans_nobody_and_does_not_raise() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    guard = create_miss_guard(replace(SETTINGS, redis_url=f"redis://127.0.0.1:{port}/0"))
    try:
        assert await guard.record_miss("192.0.2.1") is False
        assert await guard.is_banned("192.0.2.1") is False
    finally:
        await guard.close()


async def test_the_backend_is_redis_exactly_when_a_url_is_given() -> None:
    memory = create_miss_guard(SETTINGS)
    shared = create_miss_guard(replace(SETTINGS, redis_url=REDIS_URL))
    assert isinstance(memory, MemoryMissGuard)
    assert isinstance(shared, RedisMissGuard)
    await memory.close()
    await shared.close()


@pytest.mark.parametrize(
    "changes",
    [{"threshold": 0}, {"window_seconds": 0}, {"ban_seconds": -1}, {"max_addresses": 0}],
)
def test_nonsensical_settings_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        replace(SETTINGS, **changes)
