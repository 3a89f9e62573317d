"""Scanning defence for the device routes: many 404s from one address earn a temporary ban.

Misses are counted in a fixed window that opens at an address's first miss and lasts
`window_seconds`; the miss that brings the count to `threshold` bans the address for
`ban_seconds` and clears its count, so it starts afresh when the ban ends. A miss recorded while
banned restarts the ban. Both backends behave the same way:

* in memory, for a single process: per-process state, bounded by `max_addresses`;
* Redis, for several workers and hosts: state shared through the server's key expiry.

The routes are expected to call `is_banned` before looking a file up (and answer 429), and
`record_miss` after every 404 of a request that named no device. Misses from
`trusted_networks` (an office whose phones share one address) are counted for the metrics but
never earn a ban; the check costs nothing on the hit path, since only misses make it.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from magnaprov.settings import Network

__all__ = [
    "MemoryMissGuard",
    "MissCounters",
    "MissGuard",
    "MissGuardSettings",
    "RedisMissGuard",
    "create_miss_guard",
]

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class MissGuardSettings:
    """How many misses within how long earn how long a ban; where the state lives."""

    threshold: int
    window_seconds: float
    ban_seconds: float
    max_addresses: int = 100_000
    redis_url: str | None = None
    redis_key_prefix: str = "magnaprov:miss:"
    redis_timeout_seconds: float = 0.5
    trusted_networks: tuple[Network, ...] = ()

    def __post_init__(self) -> None:
        if self.threshold < 1 or self.max_addresses < 1:
            raise ValueError("threshold and max_addresses must be at least 1")
        if min(self.window_seconds, self.ban_seconds, self.redis_timeout_seconds) <= 0:
            raise ValueError("durations must be positive")


@dataclass(slots=True)
class MissCounters:
    """What this process has seen, for metrics: misses recorded and bans started."""

    misses: int = 0
    bans: int = 0


class MissGuard(Protocol):
    """The surface the device routes use, whichever backend holds the state."""

    counters: MissCounters

    async def is_banned(self, address: str) -> bool: ...

    async def record_miss(self, address: str) -> bool:
        """Count a 404; True if this miss started a ban or extended one in force."""
        ...

    async def close(self) -> None: ...


class _TrustedAddresses:
    """Membership of client addresses in the trusted networks, remembered per address."""

    def __init__(self, networks: tuple[Network, ...]) -> None:
        self._networks = networks
        # Scanners rotating addresses only churn the memo; it stays bounded.
        self.trusts: Callable[[str], bool] = lru_cache(maxsize=4096)(self._compute)

    def _compute(self, address: str) -> bool:
        if not self._networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)


def create_miss_guard(settings: MissGuardSettings, clock: Clock = time.monotonic) -> MissGuard:
    """Redis when a URL is configured (shared by every worker), memory otherwise."""
    if settings.redis_url is not None:
        return RedisMissGuard(settings)
    return MemoryMissGuard(settings, clock)


@dataclass(slots=True)
class _Window:
    opened: float
    misses: int


class MemoryMissGuard:
    """Per-process state. Each call is O(1); at most `max_addresses` windows and as many bans.

    Windows and bans are kept apart so that a flood of one-off misses from many addresses evicts
    only other counts, never a ban in force; bans are evicted only by newer bans.
    """

    def __init__(self, settings: MissGuardSettings, clock: Clock = time.monotonic) -> None:
        self.counters = MissCounters()
        self._settings = settings
        self._clock = clock
        self._windows: OrderedDict[str, _Window] = OrderedDict()
        self._bans: OrderedDict[str, float] = OrderedDict()
        self._trusted = _TrustedAddresses(settings.trusted_networks)

    async def is_banned(self, address: str) -> bool:
        return self._ban_in_force(address, self._clock())

    async def record_miss(self, address: str) -> bool:
        now = self._clock()
        self.counters.misses += 1
        if self._trusted.trusts(address):
            return False
        if self._ban_in_force(address, now):
            self._ban(address, now)
            return True
        if self._count(address, now) < self._settings.threshold:
            return False
        del self._windows[address]
        self._ban(address, now)
        self.counters.bans += 1
        return True

    async def close(self) -> None:
        self._windows.clear()
        self._bans.clear()

    def _ban_in_force(self, address: str, now: float) -> bool:
        until = self._bans.get(address)
        if until is None:
            return False
        if now < until:
            return True
        del self._bans[address]
        return False

    def _count(self, address: str, now: float) -> int:
        window = self._windows.get(address)
        if window is None or now >= window.opened + self._settings.window_seconds:
            window = _Window(opened=now, misses=0)
        window.misses += 1
        _put_newest(self._windows, address, window, self._settings.max_addresses)
        return window.misses

    def _ban(self, address: str, now: float) -> None:
        until = now + self._settings.ban_seconds
        _put_newest(self._bans, address, until, self._settings.max_addresses)


def _put_newest(entries: OrderedDict[str, _V], key: str, value: _V, cap: int) -> None:
    entries[key] = value
    entries.move_to_end(key)
    if len(entries) > cap:
        entries.popitem(last=False)


# One round trip, atomic on the server, so concurrent workers count every miss exactly once.
# Returns 0 (counted), 1 (this miss started a ban) or 2 (a ban in force was extended).
_RECORD_MISS = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return 2
end
local misses = redis.call('INCR', KEYS[1])
if misses == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
if misses < tonumber(ARGV[3]) then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return 1
"""


class RedisMissGuard:
    """State shared by every worker through Redis; expiry is the server's key TTL.

    If Redis is unreachable the guard fails open (nothing is banned) and logs: losing the
    scanning defence for a while is better than refusing every phone its configuration.
    """

    def __init__(self, settings: MissGuardSettings) -> None:
        if settings.redis_url is None:
            raise ValueError("RedisMissGuard needs settings.redis_url")
        self.counters = MissCounters()
        self._settings = settings
        self._redis = _connect(settings.redis_url, settings.redis_timeout_seconds)
        self._record = self._redis.register_script(_RECORD_MISS)
        self._trusted = _TrustedAddresses(settings.trusted_networks)

    async def is_banned(self, address: str) -> bool:
        try:
            return bool(await self._redis.exists(self._key(address, "ban")))
        except RedisError:
            logger.warning("miss guard: Redis unavailable; not banning", exc_info=True)
            return False

    async def record_miss(self, address: str) -> bool:
        self.counters.misses += 1
        if self._trusted.trusts(address):
            return False
        keys = [self._key(address, "misses"), self._key(address, "ban")]
        args = [_millis(self._settings.window_seconds), _millis(self._settings.ban_seconds)]
        try:
            outcome = int(await self._record(keys=keys, args=[*args, self._settings.threshold]))
        except RedisError:
            logger.warning("miss guard: Redis unavailable; miss not counted", exc_info=True)
            return False
        if outcome == 1:
            self.counters.bans += 1
        return outcome != 0

    async def close(self) -> None:
        await self._redis.aclose()

    def _key(self, address: str, kind: str) -> str:
        # The braces are a hash tag: both keys of an address land on one Redis Cluster slot,
        # which the script needs.
        return f"{self._settings.redis_key_prefix}{{{address}}}:{kind}"


def _connect(url: str, timeout: float) -> Redis:
    # One quick retry covers a pooled connection dropped by a Redis restart; the default
    # policy backs off for seconds, which would stall every provisioning request.
    retry = Retry(ExponentialBackoff(cap=0.05, base=0.01), retries=1)
    return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=retry)


def _millis(seconds: float) -> int:
    return max(1, round(seconds * 1000))
