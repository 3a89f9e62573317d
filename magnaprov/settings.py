"""The one Settings object: every knob comes from the environment (prefix MAGNAPROV_) or `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Runtime configuration; see the settings table in the README."""

    model_config = SettingsConfigDict(env_prefix="MAGNAPROV_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./magnaprov.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    admin_password: SecretStr | None = None
    # Keys for retrievable secrets: `id:base64key` entries, primary first, from the environment;
    # otherwise the key file, created with one random key on first start.
    secrets_keys: SecretStr | None = None
    secrets_key_file: Path = Path("magnaprov.key")
    session_ttl_hours: int = Field(default=12, ge=1, le=24 * 90)

    # argon2id cost; the defaults follow RFC 9106's second recommended option.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    # Hashing is CPU- and memory-heavy: cap how many run at once so logins cannot starve the server.
    password_hash_concurrency: int = Field(default=2, ge=1)

    graphql_max_depth: int = Field(default=12, ge=2)
    graphql_max_tokens: int = Field(default=4000, ge=100)
    graphql_max_aliases: int = Field(default=30, ge=1)
    # POST /graphql bodies above this are refused (413) before they are parsed.
    graphql_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    graphql_introspection: bool = True
    # Debug shows "did you mean" hints; production hides the schema's shape from probes.
    debug: bool = False

    # Device routes: an in-process cache of devices' files, bounded in bytes and in devices.
    file_cache_max_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    file_cache_max_devices: int = Field(default=20_000, ge=0)
    # A safety net only: entries are evicted as soon as a change is committed.
    file_cache_ttl_seconds: float = Field(default=300.0, gt=0)
    # How long a phone's request waits for the database before the cache (or a 503) answers.
    prov_database_timeout_seconds: float = Field(default=2.0, gt=0)
    # Scanning defence: this many misses (404s) from one address within the window earn a ban.
    miss_threshold: int = Field(default=60, ge=1)
    miss_window_seconds: float = Field(default=60.0, gt=0)
    miss_ban_seconds: float = Field(default=300.0, gt=0)
    # Shares miss counts and bans between workers and hosts; in-process when unset.
    redis_url: str | None = None
    # One line per phone request: "-" for stderr, "off", or a file to append to.
    access_log: str = "-"
    # Last contacts are buffered and written in one batch this often.
    contact_flush_seconds: float = Field(default=5.0, gt=0)
    # A device's stored last contact is precise to this: the same address and User-Agent again
    # within it are not written again. 0 writes every contact.
    contact_resolution_seconds: float = Field(default=60.0, ge=0)
    # TFTP (switched on and restricted in the global preferences) listens here.
    tftp_host: str = "0.0.0.0"  # noqa: S104 - phones reach TFTP on whatever interface they can
    tftp_port: int = Field(default=69, ge=0, le=65535)
    # Application, uvicorn and access lines: "json" (one object a line) or "text".
    log_format: Literal["json", "text"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # How long a starting server waits for the database to answer and be at the code's
    # migration head before it gives up (it accepts no request meanwhile).
    startup_wait_seconds: float = Field(default=60.0, ge=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
