"""Login throttling: attempts per login name and per client address, refused before hashing.

Every attempt counts, whether the login exists or not, so a throttled unknown name answers
exactly as a throttled known one. A successful login clears its name's count (a person who
mistyped twice starts afresh); the address's count stays, as it also limits a spray of names.
"""

from __future__ import annotations

from dataclasses import dataclass

from magnaprov.tenancy.credentials import fold_login
from magnaprov.tenancy.rate_limits import RateLimitStorage, WindowLimit

__all__ = ["LoginLimits", "LoginThrottle"]


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """Attempts allowed per login name and per client address within the window."""

    per_login: int
    per_address: int
    window_seconds: int


class LoginThrottle:
    """Admits or refuses a login attempt before its password is looked at."""

    def __init__(self, storage: RateLimitStorage, limits: LoginLimits) -> None:
        window = limits.window_seconds
        self._logins = storage.counter("login", WindowLimit(limits.per_login, window))
        self._addresses = storage.counter("address", WindowLimit(limits.per_address, window))

    async def admit(self, login_name: str, address: str | None) -> bool:
        """Count the attempt against its name and its address; False when either is over."""
        by_login = await self._logins.hit(fold_login(login_name))
        by_address = address is None or await self._addresses.hit(address)
        return by_login and by_address

    async def succeeded(self, login_name: str) -> None:
        """The right password was given: the name's earlier failures no longer count."""
        await self._logins.clear(fold_login(login_name))
