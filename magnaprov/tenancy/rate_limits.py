"""Attempts counted per key in a moving window: in memory, or in Redis shared by every worker.

The counting is the `limits` library's (moving-window strategy, its async API); this module
picks the storage from the settings and keeps the callers to one small surface. When Redis is
unreachable the counters fail open and log: refusing every login because the counter store is
down would be worse than a while without throttling.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool

__all__ = ["AttemptCounter", "RateLimitStorage", "WindowLimit"]

logger = logging.getLogger(__name__)

_REDIS_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class WindowLimit:
    """At most `attempts` within any `window_seconds`."""

    attempts: int
    window_seconds: int

    def item(self) -> RateLimitItem:
        """The limit in the `limits` library's terms."""
        return RateLimitItemPerSecond(self.attempts, self.window_seconds)


class AttemptCounter:
    """One kind of counted attempt, e.g. logins per address, under its own key namespace."""

    def __init__(
        self, limiter: MovingWindowRateLimiter, namespace: str, limit: WindowLimit
    ) -> None:
        self._limiter = limiter
        self._namespace = namespace
        self._item = limit.item()

    async def hit(self, key: str) -> bool:
        """Count an attempt for `key`; False when it is over the limit (and refused)."""
        try:
            return await self._limiter.hit(self._item, self._namespace, _digest(key))
        except StorageError:
            logger.warning("rate limits: storage unavailable; not limiting", exc_info=True)
            return True

    async def test(self, key: str) -> bool:
        """Whether one more attempt for `key` would be admitted, without counting it."""
        try:
            return await self._limiter.test(self._item, self._namespace, _digest(key))
        except StorageError:
            logger.warning("rate limits: storage unavailable; not limiting", exc_info=True)
            return True

    async def clear(self, key: str) -> None:
        """Forget the attempts of `key`."""
        try:
            await self._limiter.clear(self._item, self._namespace, _digest(key))
        except StorageError:
            logger.warning("rate limits: storage unavailable; not cleared", exc_info=True)


class RateLimitStorage:
    """Where every counter of the process keeps its attempts: Redis when a URL is given."""

    def __init__(self, redis_url: str | None, key_prefix: str) -> None:
        self._pool: ConnectionPool | None = None
        storage: Storage
        if redis_url is None:
            storage = MemoryStorage(wrap_exceptions=True)
        else:
            self._pool = ConnectionPool.from_url(
                redis_url,
                socket_timeout=_REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
            )
            storage = RedisStorage(
                f"async+{redis_url}",
                wrap_exceptions=True,
                implementation="redispy",
                key_prefix=key_prefix,
                connection_pool=self._pool,  # type: ignore[arg-type]
            )
        self._limiter = MovingWindowRateLimiter(storage)

    def counter(self, namespace: str, limit: WindowLimit) -> AttemptCounter:
        """A counter of attempts under `namespace` (distinct per kind of attempt)."""
        return AttemptCounter(self._limiter, namespace, limit)

    async def close(self) -> None:
        """Release the Redis connections, if any."""
        if self._pool is not None:
            await self._pool.aclose()


def _digest(key: str) -> str:
    # Keys may be anything a client typed (a login name): stored as a digest, bounded and
    # never readable in Redis.
    return hashlib.sha256(key.encode()).hexdigest()[:32]
