"""SIP preferences of phone-terminal extensions: changes as the viewer's access allows, encrypted
passwords."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from magnaprov.db import UNSCOPED, Account, Codec, DtmfMode, Extension, SipPreferences, utcnow
from magnaprov.resolvers.database import RequestDatabase
from magnaprov.resolvers.device_values import check_value, device_equipment
from magnaprov.resolvers.errors import ErrorCode, Problems
from magnaprov.resolvers.extensions import get_extension
from magnaprov.resolvers.rendering import rerender_extensions
from magnaprov.resolvers.services import Services
from magnaprov.resolvers.text_input import check_text
from magnaprov.tenancy import (
    LIMITED_FIELDS,
    SecretBox,
    SipAccess,
    Viewer,
    phone_password_problem,
    sip_access,
)

__all__ = [
    "SipChanges",
    "follow_interface_password",
    "update_sip_preferences",
]

MAX_DESCRIPTION = 200
MAX_NETWORKS = 50


@dataclass(frozen=True, slots=True)
class SipChanges:
    """Input of `update_sip_preferences`: None leaves a field as it is."""

    phone_password: str | None = None
    phone_password_confirmation: str | None = None
    use_interface_password: bool | None = None
    interface_password: str | None = None
    equipment_description: str | None = None
    dtmf_mode: DtmfMode | None = None
    codecs: list[Codec] | None = None
    nat_keep_alive: bool | None = None
    allowed_registration_ips: list[str] | None = None
    presence_publishing: bool | None = None
    direct_media: bool | None = None
    forced_mwi: bool | None = None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def update_sip_preferences(
    db: RequestDatabase, services: Services, viewer: Viewer, extension_id: int, changes: SipChanges
) -> tuple[SipPreferences | None, Problems]:
    """Change the SIP preferences of a visible phone-terminal extension, all or nothing."""
    problems = Problems()
    async with db.reading() as session:
        extension = await get_extension(session, extension_id)
        if extension is None:
            problems.add("extensionId", ErrorCode.NOT_FOUND, "No such extension.")
            return None, problems
        if not extension.is_phone_terminal:
            problems.add(
                "extensionId",
                ErrorCode.INVALID,
                "Only phone terminal extensions have SIP preferences.",
            )
            return None, problems
        owner = await _owner(session, extension)
        equipment = await device_equipment(session, extension.id)
    if sip_access(viewer) is SipAccess.LIMITED:
        for field in fields(changes):
            if field.name not in LIMITED_FIELDS and getattr(changes, field.name) is not None:
                problems.add(
                    _camel(field.name),
                    ErrorCode.NOT_ALLOWED,
                    "Changing this needs the Phone extension SIP management permission.",
                )
    new_password = await _check_passwords(services, changes, extension, owner, problems)
    if new_password is not None and equipment is not None:
        source = "interfacePassword" if changes.use_interface_password else "phonePassword"
        check_value(problems, source, equipment, new_password, "password")
    description = _check_description(changes.equipment_description, problems)
    codecs = _check_codecs(changes.codecs, problems)
    networks = _check_networks(changes.allowed_registration_ips, problems)
    if problems:
        return None, problems
    async with db.writing() as session:
        preferences = await session.get(SipPreferences, extension.id, populate_existing=True)
        if preferences is None:
            preferences = SipPreferences(extension_id=extension.id)
            session.add(preferences)
        if new_password is not None:
            preferences.phone_password = services.secrets.encrypt(
                new_password, preferences.password_identity()
            )
        if changes.use_interface_password is not None:
            preferences.use_interface_password = changes.use_interface_password
        elif changes.phone_password is not None:
            preferences.use_interface_password = (
                False  # a typed password replaces the interface one
            )
        _apply_simple(preferences, changes, description, codecs, networks)
        preferences.updated_at = utcnow()
        await session.flush()
        await rerender_extensions(session, services.secrets, [extension.id])
        await session.commit()
    return preferences, problems


async def follow_interface_password(
    session: AsyncSession, secrets: SecretBox, owner_id: int, password: str
) -> int:
    """Give every extension of `owner_id` that uses the interface password the new one.

    Runs inside the caller's transaction, so the account's password and its phones'
    passwords change together or not at all. Returns how many extensions followed.
    """
    rows = await session.scalars(
        select(SipPreferences)
        .join(Extension, Extension.id == SipPreferences.extension_id)
        .where(Extension.owner_id == owner_id, SipPreferences.use_interface_password.is_(True))
        .execution_options(**UNSCOPED)
    )
    followed = []
    for preferences in rows:
        preferences.phone_password = secrets.encrypt(password, preferences.password_identity())
        preferences.updated_at = utcnow()
        followed.append(preferences.extension_id)
    await session.flush()
    await rerender_extensions(session, secrets, followed)
    return len(followed)


async def _owner(session: AsyncSession, extension: Extension) -> Account:
    return (
        await session.scalars(
            select(Account).where(Account.id == extension.owner_id).execution_options(**UNSCOPED)
        )
    ).one()


async def _check_passwords(
    services: Services,
    changes: SipChanges,
    extension: Extension,
    owner: Account,
    problems: Problems,
) -> str | None:
    """The clear phone password to store, if the call sets one."""
    if changes.use_interface_password:
        if changes.phone_password is not None:
            problems.add(
                "phonePassword",
                ErrorCode.INVALID,
                "Give either a phone password or the interface password, not both.",
            )
            return None
        if not changes.interface_password or not await services.hasher.verify(
            owner.password_hash, changes.interface_password
        ):
            problems.add(
                "interfacePassword",
                ErrorCode.INVALID_CREDENTIALS,
                "Enter the current interface password of the extension's owner.",
            )
            return None
        return changes.interface_password
    if changes.phone_password is None:
        if changes.phone_password_confirmation is not None:
            problems.add(
                "phonePassword", ErrorCode.REQUIRED, "Enter the phone password to confirm."
            )
        return None
    if changes.phone_password != changes.phone_password_confirmation:
        problems.add(
            "phonePasswordConfirmation", ErrorCode.MISMATCH, "The two phone passwords differ."
        )
    forbidden = (extension.number, extension.full_number, owner.login)
    message = phone_password_problem(changes.phone_password, forbidden)
    if message:
        problems.add("phonePassword", ErrorCode.WEAK_PASSWORD, message)
    return changes.phone_password


def _check_description(description: str | None, problems: Problems) -> str | None:
    if description is None:
        return None
    description = description.strip()
    check_text("equipmentDescription", description, MAX_DESCRIPTION, problems, single_line=True)
    return description


def _check_codecs(codecs: list[Codec] | None, problems: Problems) -> str | None:
    if codecs is None:
        return None
    if not codecs:
        problems.add("codecs", ErrorCode.REQUIRED, "Choose at least one codec.")
    elif len(set(codecs)) != len(codecs):
        problems.add("codecs", ErrorCode.INVALID, "Each codec may appear once.")
    return ",".join(codecs)


def _check_networks(entries: list[str] | None, problems: Problems) -> str | None:
    if entries is None:
        return None
    if len(entries) > MAX_NETWORKS:
        problems.add(
            "allowedRegistrationIps", ErrorCode.TOO_LONG, f"At most {MAX_NETWORKS} entries."
        )
        return None
    networks = []
    for entry in entries:
        try:
            networks.append(str(ipaddress.ip_network(entry.strip(), strict=True)))
        except ValueError:
            problems.add(
                "allowedRegistrationIps",
                ErrorCode.INVALID,
                f"{entry!r} is not an IP address or a network such as 192.0.2.0/24 "
                "(host bits must be zero).",
            )
    return ",".join(dict.fromkeys(networks))


def _apply_simple(
    preferences: SipPreferences,
    changes: SipChanges,
    description: str | None,
    codecs: str | None,
    networks: str | None,
) -> None:
    if description is not None:
        preferences.equipment_description = description
    if changes.dtmf_mode is not None:
        preferences.dtmf_mode = changes.dtmf_mode
    if codecs is not None:
        preferences.codecs = codecs
    if networks is not None:
        preferences.allowed_registration_ips = networks
    for flag in ("nat_keep_alive", "presence_publishing", "direct_media", "forced_mwi"):
        value = getattr(changes, flag)
        if value is not None:
            setattr(preferences, flag, value)
