"""What every use case needs beyond the session, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from magnaprov.settings import Settings
from magnaprov.tenancy.key_file import open_secret_box
from magnaprov.tenancy.login_throttle import LoginLimits, LoginThrottle
from magnaprov.tenancy.passwords import HasherShares, PasswordHasher
from magnaprov.tenancy.rate_limits import AttemptCounter, RateLimitStorage, WindowLimit
from magnaprov.tenancy.secrets import SecretBox

__all__ = ["Services", "secret_box_for"]


@dataclass(frozen=True, slots=True)
class Services:
    """Process-wide collaborators of the resolvers."""

    settings: Settings
    hasher: PasswordHasher
    secrets: SecretBox
    rate_limits: RateLimitStorage
    login_throttle: LoginThrottle
    hasher_shares: HasherShares
    # Duplicate-MAC conflicts met per account (see `resolvers.mac_conflicts`).
    mac_conflicts: AttemptCounter

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """Build the services `settings` describe."""
        hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            concurrency=settings.password_hash_concurrency,
        )
        secrets = secret_box_for(settings)
        rate_limits = RateLimitStorage(settings.redis_url, settings.rate_limit_key_prefix)
        login_limits = LoginLimits(
            settings.login_attempts_per_login,
            settings.login_attempts_per_address,
            settings.login_window_seconds,
        )
        mac_limit = WindowLimit(
            settings.mac_conflicts_per_account, settings.mac_conflict_window_seconds
        )
        return cls(
            settings=settings,
            hasher=hasher,
            secrets=secrets,
            rate_limits=rate_limits,
            login_throttle=LoginThrottle(rate_limits, login_limits),
            hasher_shares=HasherShares(settings.password_hash_concurrency),
            mac_conflicts=rate_limits.counter("mac-conflict", mac_limit),
        )

    async def close(self) -> None:
        """Release what the services hold open (the rate limits' Redis connections)."""
        await self.rate_limits.close()


def secret_box_for(settings: Settings, *, create: bool = True) -> SecretBox:
    """The secrets box the settings describe: the environment's keys, or the key file (followed
    while the process runs, so a rotation beside it needs no restart)."""
    keys = settings.secrets_keys.get_secret_value() if settings.secrets_keys else None
    return open_secret_box(keys, settings.secrets_key_file, create=create)
