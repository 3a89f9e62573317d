"""What is wrong with this installation, each with what to do: `magnaprov check`, the start-up
log of `serve`, `globalPreferences.warnings` and the per-link warnings all read it from here."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from magnaprov.db import UNSCOPED, Device, GlobalPreferences, UpdateProtocol
from magnaprov.resolvers.global_preferences import read_global_preferences
from magnaprov.resolvers.public_address import (
    PublicAddress,
    is_unreachable_host,
    listening_host,
    public_address,
)
from magnaprov.settings import Settings

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "Finding",
    "check_configuration",
    "configuration_findings",
    "protocol_problem",
]

EXPIRY_WARNING_DAYS = 30
EXAMPLES = 3
# Names reserved for documentation (RFC 2606, RFC 6761): no phone registers there.
_PLACEHOLDER_SUFFIXES = (".example", ".test", ".invalid", ".localhost")
_PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org")


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: a stable code, what is wrong, and what to do about it."""

    code: str
    message: str
    advice: str


def configuration_findings(preferences: GlobalPreferences, settings: Settings) -> list[Finding]:
    """The problems of the preferences, the settings and the files they name (no device)."""
    address = public_address(preferences, settings)
    return [
        *_base_url_findings(preferences, settings, address),
        *_registrar_findings(preferences),
        *_tftp_findings(preferences),
        *_tls_findings(settings),
        *_database_findings(settings),
    ]


async def check_configuration(session: AsyncSession, settings: Settings) -> list[Finding]:
    """Every problem `magnaprov check` reports: the configuration's and the devices'."""
    preferences = await read_global_preferences(session)
    address = public_address(preferences, settings)
    findings = configuration_findings(preferences, settings)
    if not address.https_served:
        count, examples = await _devices_using(session, [UpdateProtocol.HTTPS])
        if count:
            findings.append(
                Finding(
                    "HTTPS_WITHOUT_TLS",
                    f"{count} device(s) fetch over HTTPS but no TLS is served{examples}.",
                    "Set MAGNAPROV_TLS_CERT_FILE and MAGNAPROV_TLS_KEY_FILE (or put a TLS proxy "
                    "in front and set an https:// public base URL), or switch them to HTTP.",
                )
            )
    broken = [p for p in UpdateProtocol if protocol_problem(p, address, preferences) is not None]
    count, examples = await _devices_using(session, broken)
    if count:
        findings.append(
            Finding(
                "DEVICE_LINKS_BROKEN",
                f"{count} device(s) have provisioning links that cannot work{examples}.",
                "See the warning on each link (Device.provisioningLinks) and fix its cause.",
            )
        )
    return findings


def protocol_problem(
    protocol: UpdateProtocol, address: PublicAddress, preferences: GlobalPreferences
) -> Finding | None:
    """Why a link of this protocol cannot work, or None."""
    if protocol is UpdateProtocol.TFTP:
        if not preferences.tftp_enabled:
            return Finding(
                "TFTP_OFF",
                "TFTP is switched off, so this TFTP link gets no answer.",
                "Switch TFTP on in the global preferences, or use HTTP.",
            )
        return _unreachable(address.tftp_host, "tftpHost")
    if protocol is UpdateProtocol.HTTPS and not address.https_served:
        return Finding(
            "HTTPS_NOT_SERVED",
            "The server serves no TLS, so this HTTPS link fails.",
            "Configure MAGNAPROV_TLS_CERT_FILE and MAGNAPROV_TLS_KEY_FILE, or use HTTP.",
        )
    host = urlsplit(address.base(protocol.value.lower())).hostname or ""
    return _unreachable(host, "baseUrl")


def _unreachable(host: str, field: str) -> Finding | None:
    if not is_unreachable_host(host):
        return None
    return Finding(
        "UNREACHABLE_ADDRESS",
        f"Links name {host}, which phones on other hosts cannot reach.",
        f"Set {field} in the global preferences to an address the phones reach "
        "(or make `serve` listen on one).",
    )


def _base_url_findings(
    preferences: GlobalPreferences, settings: Settings, address: PublicAddress
) -> Iterator[Finding]:
    host = urlsplit(address.http_base).hostname or ""
    if is_unreachable_host(host):
        yield Finding(
            "BASE_URL_UNREACHABLE",
            f"The provisioning links name {host}, which phones on other hosts cannot reach.",
            "Set the public base URL (baseUrl) in the global preferences, or serve on an address "
            "the phones reach (--host / MAGNAPROV_HOST).",
        )
    if address.base_url_derived:
        return
    chosen = urlsplit(preferences.base_url)
    ports = {settings.port, settings.https_port} if settings.tls_served else {settings.port}
    local = {listening_host(settings.host), settings.host, "127.0.0.1", "localhost"}
    port = chosen.port or (443 if chosen.scheme == "https" else 80)
    if chosen.hostname in local and port not in ports:
        yield Finding(
            "BASE_URL_MISMATCH",
            f"The public base URL {preferences.base_url} names this host on port {port}, but "
            f"the server listens on {', '.join(str(p) for p in sorted(ports))}.",
            "Correct baseUrl in the global preferences, or clear it to derive it from where "
            "the server listens.",
        )


def _registrar_findings(preferences: GlobalPreferences) -> Iterator[Finding]:
    host = preferences.registrar_host.lower().rstrip(".")
    if host in _PLACEHOLDER_DOMAINS or host.endswith(
        _PLACEHOLDER_SUFFIXES + tuple(f".{d}" for d in _PLACEHOLDER_DOMAINS)
    ):
        yield Finding(
            "REGISTRAR_PLACEHOLDER",
            f"The SIP registrar is {preferences.registrar_host}, a placeholder: phones will not "
            "register.",
            "Set registrarHost in the global preferences to your PBX.",
        )


def _tftp_findings(preferences: GlobalPreferences) -> Iterator[Finding]:
    if preferences.tftp_enabled and not preferences.tftp_allowed_networks.strip():
        yield Finding(
            "TFTP_OPEN",
            "TFTP is on and answers any address.",
            "Set tftpAllowedNetworks in the global preferences to the phones' networks.",
        )


def _tls_findings(settings: Settings) -> Iterator[Finding]:
    for label, path in (("certificate", settings.tls_cert_file), ("key", settings.tls_key_file)):
        if path is not None and not _readable(path):
            yield Finding(
                "TLS_FILE_UNREADABLE",
                f"The TLS {label} file {path} cannot be read.",
                "Check the path and that the server's user may read it.",
            )
    if settings.tls_key_file is not None and _readable_by_others(settings.tls_key_file):
        yield Finding(
            "TLS_KEY_EXPOSED",
            f"The TLS key file {settings.tls_key_file} is readable by other users.",
            f"chmod 600 {settings.tls_key_file}",
        )
    if settings.tls_cert_file is not None and _readable(settings.tls_cert_file):
        yield from _expiry_findings(settings.tls_cert_file)


def _expiry_findings(path: Path) -> Iterator[Finding]:
    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError:
        yield Finding(
            "TLS_FILE_UNREADABLE",
            f"The TLS certificate file {path} holds no PEM certificate.",
            "Point MAGNAPROV_TLS_CERT_FILE at the PEM certificate (chain).",
        )
        return
    left = certificate.not_valid_after_utc - datetime.now(UTC)
    if left < timedelta(days=EXPIRY_WARNING_DAYS):
        when = "has expired" if left.total_seconds() <= 0 else f"expires in {left.days} day(s)"
        yield Finding(
            "TLS_CERT_EXPIRING",
            f"The TLS certificate {path} {when} ({certificate.not_valid_after_utc:%Y-%m-%d}).",
            "Renew it and restart the server.",
        )


def _database_findings(settings: Settings) -> Iterator[Finding]:
    url = make_url(settings.database_url)
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        return
    path = Path(url.database)
    if _readable_by_others(path):
        yield Finding(
            "DATABASE_EXPOSED",
            f"The database file {path} is readable by other users.",
            f"chmod 600 {path}",
        )


async def _devices_using(session: AsyncSession, protocols: list[UpdateProtocol]) -> tuple[int, str]:
    """How many devices with generation on use these protocols, and a few of their MACs."""
    if not protocols:
        return 0, ""
    where = (Device.update_protocol.in_(protocols), Device.generation_enabled.is_(True))
    count = await session.scalar(
        select(func.count()).select_from(Device).where(*where).execution_options(**UNSCOPED)
    )
    macs = await session.scalars(
        select(Device.mac).where(*where).order_by(Device.id).limit(EXAMPLES)
        .execution_options(**UNSCOPED)
    )  # fmt: skip
    shown = list(macs)
    return count or 0, f", e.g. {', '.join(shown)}" if shown else ""


def _readable(path: Path) -> bool:
    try:
        with path.open("rb"):
            return True
    except OSError:
        return False


def _readable_by_others(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False
