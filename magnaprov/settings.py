"""The one Settings object: every knob comes from the environment (prefix MAGNAPROV_) or `.env`."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Network", "Settings", "get_settings", "parse_networks"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses and networks (`10.0.0.0/8, 192.0.2.7, ::1`); ValueError
    names the entry that is neither."""
    networks = []
    for part in text.split(","):
        entry = part.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(networks)


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
    # Seals the keyring inside a backup archive (`backup --include-keyring`, `restore`);
    # `--passphrase-file` is the other way. Never a command-line argument.
    backup_passphrase: SecretStr | None = None
    session_ttl_hours: int = Field(default=12, ge=1, le=24 * 90)

    # argon2id cost; the defaults follow RFC 9106's second recommended option.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)
    # Hashing is CPU- and memory-heavy: cap how many run at once so logins cannot starve the server.
    # One client address holds at most half of them (at least one) at a time.
    password_hash_concurrency: int = Field(default=2, ge=1)
    # Login attempts (right or wrong, known name or not) allowed within the window, per login
    # name and per client address; more are refused before any hashing. In Redis when
    # `redis_url` is set, so every worker counts together.
    login_attempts_per_login: int = Field(default=10, ge=1)
    login_attempts_per_address: int = Field(default=100, ge=1)
    login_window_seconds: int = Field(default=300, ge=1)
    # provisionDevice: an account that meets this many MACs already used elsewhere within the
    # window is refused further MAC checks until it passes (probing other tenants' phones).
    mac_conflicts_per_account: int = Field(default=5, ge=1)
    mac_conflict_window_seconds: int = Field(default=3600, ge=1)
    # Prefix of the keys the login and MAC-conflict counters keep in Redis.
    rate_limit_key_prefix: str = "magnaprov:limits"

    graphql_max_depth: int = Field(default=12, ge=2)
    graphql_max_tokens: int = Field(default=4000, ge=100)
    graphql_max_aliases: int = Field(default=30, ge=1)
    # Estimated fields of one answer (page sizes multiplied along nesting; see schema/query_cost).
    # A page of 1,000 devices with a few dozen fields each costs some 30,000-50,000.
    graphql_max_cost: int = Field(default=100_000, ge=100)
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
    # Clients whose X-Forwarded-For and X-Forwarded-Proto are believed (reverse proxies);
    # nobody's by default, loopback included.
    trusted_proxies: str = ""
    # Addresses never banned by the scanning defence (offices whose phones share one address).
    trusted_networks: str = ""
    # TFTP (switched on and restricted in the global preferences) listens here.
    tftp_host: str = "0.0.0.0"  # noqa: S104 - phones reach TFTP on whatever interface they can
    tftp_port: int = Field(default=69, ge=0, le=65535)
    # HTTPS served by `serve` itself, beside plain HTTP, when both files are given.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    https_port: int = Field(default=8443, ge=1, le=65535)
    # `<manufacturer>.pem` CA bundles that sign the phones' factory certificates.
    device_ca_dir: Path | None = None

    @property
    def tls_served(self) -> bool:
        """Whether `serve` terminates TLS (a certificate and its key are configured)."""
        return self.tls_cert_file is not None and self.tls_key_file is not None

    @field_validator("trusted_proxies", "trusted_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        return ",".join(str(network) for network in parse_networks(value))

    @property
    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        """`trusted_proxies`, parsed."""
        return parse_networks(self.trusted_proxies)

    @property
    def trusted_client_networks(self) -> tuple[Network, ...]:
        """`trusted_networks`, parsed."""
        return parse_networks(self.trusted_networks)
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
