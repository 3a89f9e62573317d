"""What every use case needs beyond the session, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from magnaprov.settings import Settings
from magnaprov.tenancy.key_file import open_secret_box
from magnaprov.tenancy.passwords import PasswordHasher
from magnaprov.tenancy.secrets import SecretBox

__all__ = ["Services", "secret_box_for"]


@dataclass(frozen=True, slots=True)
class Services:
    """Process-wide collaborators of the resolvers."""

    settings: Settings
    hasher: PasswordHasher
    secrets: SecretBox

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
        return cls(settings=settings, hasher=hasher, secrets=secrets)


def secret_box_for(settings: Settings, *, create: bool = True) -> SecretBox:
    """The secrets box the settings describe: the environment's keys, or the key file (followed
    while the process runs, so a rotation beside it needs no restart)."""
    keys = settings.secrets_keys.get_secret_value() if settings.secrets_keys else None
    return open_secret_box(keys, settings.secrets_key_file, create=create)
