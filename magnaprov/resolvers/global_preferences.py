"""The admin's global preferences: read by every render, changed by the admin only."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, fields

from sqlalchemy.ext.asyncio import AsyncSession

from magnaprov.db import GLOBAL_PREFERENCES_ID, GlobalPreferences, utcnow
from magnaprov.resolvers.errors import ErrorCode, Problems
from magnaprov.tenancy import Viewer
from magnaprov.tenancy.hostnames import base_url_problem, host_problem, network_problem

__all__ = [
    "TRANSPORTS",
    "PreferenceChanges",
    "default_global_preferences",
    "load_global_preferences",
    "read_global_preferences",
    "update_global_preferences",
]

TRANSPORTS = ("UDP", "TCP", "TLS")


@dataclass(frozen=True, slots=True)
class PreferenceChanges:
    """Input of `update_global_preferences`: None leaves a field as it is."""

    allow_mac_provisioning: bool | None = None
    base_url: str | None = None
    tftp_host: str | None = None
    registrar_host: str | None = None
    registrar_port: int | None = None
    registrar_transport: str | None = None
    ntp_server: str | None = None
    time_zone: str | None = None
    tftp_enabled: bool | None = None
    tftp_allowed_networks: list[str] | None = None


async def load_global_preferences(session: AsyncSession) -> GlobalPreferences:
    """The preferences row, created with its defaults the first time it is needed."""
    preferences = await session.get(GlobalPreferences, GLOBAL_PREFERENCES_ID)
    if preferences is None:
        preferences = GlobalPreferences(id=GLOBAL_PREFERENCES_ID)
        session.add(preferences)
        await session.flush()
    return preferences


async def read_global_preferences(session: AsyncSession) -> GlobalPreferences:
    """The preferences row, or (for a read-only session) its defaults when none is stored."""
    preferences = await session.get(GlobalPreferences, GLOBAL_PREFERENCES_ID)
    return preferences if preferences is not None else default_global_preferences()


def default_global_preferences() -> GlobalPreferences:
    """A preferences object with every column's default, not added to any session."""
    values = {
        column.key: column.default.arg
        for column in GlobalPreferences.__table__.columns
        if column.default is not None and not callable(column.default.arg)
    }
    return GlobalPreferences(**values)


def check_changes(changes: PreferenceChanges) -> Problems:
    """Every problem of the proposed values."""
    problems = Problems()
    # An empty base URL or TFTP host: derived from where the server listens.
    if changes.base_url:
        _report(problems, "baseUrl", base_url_problem(changes.base_url.strip()))
    if changes.tftp_host:
        _report(problems, "tftpHost", host_problem(changes.tftp_host.strip()))
    for field_name, value in (
        ("registrarHost", changes.registrar_host),
        ("ntpServer", changes.ntp_server),
    ):
        if value is not None:
            _report(problems, field_name, host_problem(value.strip()))
    if changes.registrar_port is not None and not 1 <= changes.registrar_port <= 65535:
        problems.add("registrarPort", ErrorCode.OUT_OF_RANGE, "Port must be from 1 to 65535.")
    if changes.registrar_transport is not None and changes.registrar_transport not in TRANSPORTS:
        problems.add("registrarTransport", ErrorCode.INVALID, "Transport must be UDP, TCP or TLS.")
    if changes.time_zone is not None and changes.time_zone not in zoneinfo.available_timezones():
        problems.add(
            "timeZone", ErrorCode.INVALID, "Time zone must be an IANA name such as Europe/Paris."
        )
    for network in changes.tftp_allowed_networks or []:
        _report(problems, "tftpAllowedNetworks", network_problem(network.strip()))
    return problems


async def update_global_preferences(
    session: AsyncSession, viewer: Viewer, changes: PreferenceChanges
) -> tuple[GlobalPreferences | None, Problems]:
    """Apply the admin's changes; anyone else is refused. The caller commits."""
    if not viewer.is_admin:
        problems = Problems()
        problems.add(
            None, ErrorCode.NOT_ALLOWED, "Only the administrator changes global preferences."
        )
        return None, problems
    problems = check_changes(changes)
    if problems:
        return None, problems
    preferences = await load_global_preferences(session)
    _check_tftp_networks(preferences, changes, problems)
    if problems:
        return None, problems
    for field in fields(changes):
        value = getattr(changes, field.name)
        if value is None:
            continue
        if field.name == "tftp_allowed_networks":
            value = ",".join(network.strip() for network in value)
        elif field.name == "base_url":
            value = value.strip().rstrip("/")
        elif isinstance(value, str):
            value = value.strip()
        setattr(preferences, field.name, value)
    preferences.updated_at = utcnow()
    return preferences, problems


def _check_tftp_networks(
    stored: GlobalPreferences, changes: PreferenceChanges, problems: Problems
) -> None:
    """TFTP cannot authenticate, so it answers only the networks named: on needs at least one."""
    enabled = stored.tftp_enabled if changes.tftp_enabled is None else changes.tftp_enabled
    if changes.tftp_allowed_networks is None:
        networks = [n for n in stored.tftp_allowed_networks.split(",") if n]
    else:
        networks = [n for n in changes.tftp_allowed_networks if n.strip()]
    if enabled and not networks:
        problems.add(
            "tftpAllowedNetworks",
            ErrorCode.REQUIRED,
            "TFTP needs the client networks it answers (tftpAllowedNetworks, e.g. "
            "10.0.0.0/8): it is never open to everyone.",
        )


def _report(problems: Problems, field_name: str, message: str | None) -> None:
    if message:
        problems.add(field_name, ErrorCode.INVALID, message)
