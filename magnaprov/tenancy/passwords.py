"""Account passwords: argon2id hashes, computed off the event loop with bounded concurrency."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["HasherShares", "PasswordHasher"]


class PasswordHasher:
    """Hashes and verifies passwords in worker threads, at most `concurrency` at a time.

    argon2 is deliberately slow and memory-hungry; running it on the event loop would stall every
    phone fetch, and running unbounded copies in threads would let a login flood exhaust memory.
    """

    def __init__(self, time_cost: int, memory_kib: int, parallelism: int, concurrency: int) -> None:
        self._argon2 = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """An argon2id hash of `password` with the current parameters."""
        async with self._slots:
            return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether `password` matches `password_hash`; never raises on a mismatch or a bad hash."""
        async with self._slots:
            return await asyncio.to_thread(self._verify_sync, password_hash, password)

    async def spend_equal_time(self, password: str) -> None:
        """Verify against a dummy hash for an unknown login, so timing tells nothing."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash("no account has this password")
        await self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


class HasherShares:
    """How many of the hashers one client address may hold or wait for at once.

    The hashers are few (`concurrency`); without shares a flood from one address would queue
    ahead of everyone else's logins. An address over its share is refused at once, not queued.
    """

    def __init__(self, concurrency: int) -> None:
        # Half the hashers, at least one: one address never takes them all (when there are 2+).
        self.per_address = max(1, concurrency // 2)
        self._held: Counter[str] = Counter()

    @asynccontextmanager
    async def claim(self, address: str | None) -> AsyncIterator[bool]:
        """Yields whether `address` may hash now; its share is held until the block ends."""
        key = address or ""
        if self._held[key] >= self.per_address:
            yield False
            return
        self._held[key] += 1
        try:
            yield True
        finally:
            self._held[key] -= 1
            if not self._held[key]:
                del self._held[key]
