"""Use cases of devices: provision (create or update), unprovision, rotate keys, regenerate."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from sqlalchemy import Row, Select, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from magnaprov.db import (
    UNSCOPED,
    Account,
    Device,
    Extension,
    PasswordGeneration,
    ProvisioningLevel,
    ProvisioningTemplate,
    UpdateProtocol,
    utcnow,
)
from magnaprov.resolvers import device_rules as rules
from magnaprov.resolvers.audit import record
from magnaprov.resolvers.database import RequestDatabase
from magnaprov.resolvers.device_values import check_device_values
from magnaprov.resolvers.errors import ErrorCode, Problems
from magnaprov.resolvers.extensions import get_extension
from magnaprov.resolvers.global_preferences import read_global_preferences
from magnaprov.resolvers.mac_conflicts import (
    MacClaim,
    MacHolder,
    may_check_mac,
    record_mac_conflict,
)
from magnaprov.resolvers.pagination import Page, paginate
from magnaprov.resolvers.public_address import public_address
from magnaprov.resolvers.rendering import RenderReport, render_devices
from magnaprov.resolvers.search import like_pattern
from magnaprov.resolvers.services import Services
from magnaprov.resolvers.templates import may_choose_template
from magnaprov.resolvers.text_input import check_text
from magnaprov.resolvers.visible_devices import visible_devices_filter
from magnaprov.templating import Equipment
from magnaprov.tenancy import SecretBox, Viewer, device_access, hash_token

__all__ = [
    "DEVICE_TEMPLATE",
    "DeviceFields",
    "ProvisionResult",
    "TemplateChoice",
    "get_device",
    "get_device_by_mac",
    "list_device_columns",
    "list_devices",
    "provision_device",
    "regenerate_devices",
    "rotate_device_key",
    "unprovision_device",
]

T = TypeVar("T")
# Whoever sees a device sees its template's name, even when the template belongs to an account
# above the viewer (as `Loaders.template_name` reads it): joined as a plain table, which the
# session's tenant scope (on mapped classes) leaves alone.
DEVICE_TEMPLATE = ProvisioningTemplate.__table__.alias("device_template")
MAX_NOTES = 2000
# 24 random bytes: 192 bits, well over the 128 the routes' scanning defence assumes.
KEY_BYTES = 24
# The HTTP Digest password a phone is given for its own files: 144 random bits.
HTTP_AUTH_PASSWORD_BYTES = 18


@dataclass(frozen=True, slots=True)
class TemplateChoice:
    """The template picked for a device; None is the built-in Server default."""

    template_id: int | None


@dataclass(frozen=True, slots=True)
class DeviceFields:
    """Input of `provision_device`: None leaves a field as it is (or takes its default)."""

    friendly_name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    application_version: str | None = None
    mac: str | None = None
    use_mac_provisioning: bool | None = None
    generation_enabled: bool | None = None
    notes: str | None = None
    admin_username: str | None = None
    password_generation: PasswordGeneration | None = None
    admin_password: str | None = None
    admin_password_confirmation: str | None = None
    update_interval: int | None = None
    update_protocol: UpdateProtocol | None = None
    template: TemplateChoice | None = None
    regenerate: bool = False
    # True: HTTP Digest on the device routes (credentials generated once); False: none.
    http_authentication: bool | None = None
    # True: files only over HTTPS to the phone's factory certificate.
    require_client_certificate: bool | None = None


@dataclass(slots=True)
class ProvisionResult:
    """The saved device and what rendering its files reported."""

    device: Device | None
    problems: Problems
    render: RenderReport = field(default_factory=RenderReport)


def new_device_key() -> str:
    """A fresh device key for the URLs."""
    return secrets.token_urlsafe(KEY_BYTES)


def set_device_key(device: Device, box: SecretBox, key: str) -> None:
    """Store `key` as its digest (for look-ups) and encrypted (to show the links again)."""
    device.key_hash = hash_token(key)
    device.key_secret = box.encrypt(key, device.secret_identity("key"))


def visible_devices(viewer: Viewer) -> Select[Device]:
    """Devices the viewer may at least view (the session scopes them to its subtree)."""
    return (
        select(Device)
        .join(Extension, Extension.id == Device.extension_id)
        .where(visible_devices_filter(viewer))
    )


async def list_devices(
    session: AsyncSession,
    viewer: Viewer,
    *,
    search: str | None,
    first: int | None,
    after: str | None,
) -> Page[Device]:
    """Devices the viewer may view, oldest first, optionally matching a name, MAC or number."""
    statement = _matching(visible_devices(viewer), search)
    return await paginate(session, statement, Device.id, first, after)


def _matching(statement: Select[T], search: str | None) -> Select[T]:
    """`statement` (of devices joined to their extensions) narrowed to a name, MAC or number."""
    if not search:
        return statement
    pattern = like_pattern(search)
    return statement.where(
        Device.friendly_name.ilike(pattern, escape="\\")
        | Device.mac.like(pattern, escape="\\")
        | Extension.full_number.like(pattern, escape="\\")
    )


async def list_device_columns(
    session: AsyncSession,
    viewer: Viewer,
    columns: Sequence[Any],
    *,
    search: str | None,
    first: int | None,
    after: str | None,
) -> Page[Row[Any]]:
    """Like `list_devices`, as rows of just `columns`: attributes of `Device`, of its `Extension`,
    of the extension's owner (`Account`, null when outside the session's scope) and columns of
    `DEVICE_TEMPLATE` (null for the Server default)."""
    statement = select(*columns).select_from(Device)
    statement = statement.join(Extension, Extension.id == Device.extension_id)
    if any(getattr(column, "class_", None) is Account for column in columns):
        statement = statement.outerjoin(Account, Account.id == Extension.owner_id)
    if any(getattr(column, "table", None) is DEVICE_TEMPLATE for column in columns):
        statement = statement.outerjoin(DEVICE_TEMPLATE, DEVICE_TEMPLATE.c.id == Device.template_id)
    statement = _matching(statement.where(visible_devices_filter(viewer)), search)
    return await paginate(session, statement, Device.id, first, after, tuples=True)


async def get_device(session: AsyncSession, viewer: Viewer, device_id: int) -> Device | None:
    """The device if the viewer may view it."""
    statement = visible_devices(viewer).where(Device.id == device_id)
    return (await session.scalars(statement)).one_or_none()


async def get_device_by_mac(session: AsyncSession, viewer: Viewer, mac: str) -> Device | None:
    """The device with this MAC (any case) if the viewer may view it."""
    problems = Problems()
    normalized = rules.normalize_mac_input(mac, problems)
    if normalized is None:
        return None
    statement = visible_devices(viewer).where(Device.mac == normalized)
    return (await session.scalars(statement)).one_or_none()


async def provision_device(
    db: RequestDatabase,
    services: Services,
    viewer: Viewer,
    client_address: str | None,
    extension_id: int,
    changes: DeviceFields,
) -> ProvisionResult:
    """Create or update the device of a phone-terminal extension, all or nothing."""
    problems = Problems()
    async with db.reading() as session:
        extension = await _modifiable_extension(session, viewer, extension_id, problems)
        if extension is None:
            return ProvisionResult(None, problems)
        existing = await _device_of(session, extension.id)
        values = _merged(existing, changes, problems)
        equipment = _check_fields(values, changes, existing, problems)
        https_served = public_address(
            await read_global_preferences(session), services.settings
        ).https_served
        _check_transport(values, changes, existing, equipment, https_served, problems)
        holder = None
        new_mac = values["mac"] if values["mac"] != (existing and existing.mac) else None
        if new_mac is not None and await may_check_mac(services, viewer, problems):
            holder = await _mac_holder(session, new_mac, existing)
            if holder is not None:
                _duplicate_mac(problems, viewer, holder.extension_number)
        if changes.template is not None and changes.template.template_id is not None:
            await _check_template(session, viewer, changes.template.template_id, values, problems)
        if equipment is not None:
            await check_device_values(
                session, services.secrets, extension, existing, equipment, values, changes, problems
            )
    if holder is not None and new_mac is not None:
        claim = MacClaim(new_mac, extension.id, extension.full_number, extension.tree_path)
        await record_mac_conflict(db, services, viewer, client_address, claim, holder)
    if problems or equipment is None:
        return ProvisionResult(None, problems)
    admin_password = _admin_password(existing, changes)
    async with db.writing() as session:
        device = existing if existing is not None else Device(extension_id=extension.id)
        _apply(device, values, changes, extension.tree_path)
        if existing is None:
            device.key_hash = secrets.token_hex(32)  # placeholder until the id is known
            device.key_secret = b""
            session.add(device)
        try:
            await session.flush()
        except IntegrityError:
            return ProvisionResult(None, _duplicate_mac(problems, viewer, None))
        if existing is None:
            set_device_key(device, services.secrets, new_device_key())
        _set_http_authentication(device, services.secrets, changes.http_authentication)
        if admin_password is not None:
            device.admin_password = (
                None
                if admin_password == ""
                else services.secrets.encrypt(
                    admin_password, device.secret_identity("admin_password")
                )
            )
        report = await render_devices(session, services.secrets, [device.id])
        await record(
            session,
            viewer,
            client_address,
            "device.create" if existing is None else "device.update",
            "device",
            device.id,
            {
                "fields": ",".join(sorted(_changed_names(changes))),
                "extension": extension.full_number,
            },
            subject_path=device.tree_path,
        )
        try:
            await session.commit()
        except IntegrityError:
            return ProvisionResult(None, _duplicate_mac(problems, viewer, None))
    return ProvisionResult(device, problems, report)


async def unprovision_device(
    db: RequestDatabase, viewer: Viewer, client_address: str | None, extension_id: int
) -> Problems:
    """ "Use provisioning" off: remove the extension's device and its files."""
    problems = Problems()
    async with db.writing() as session:
        extension = await _modifiable_extension(session, viewer, extension_id, problems)
        if extension is None:
            return problems
        device = await _device_of(session, extension.id)
        if device is None:
            problems.add("extensionId", ErrorCode.NOT_FOUND, "This extension has no device.")
            return problems
        await session.execute(delete(Device).where(Device.id == device.id))
        await record(
            session,
            viewer,
            client_address,
            "device.delete",
            "device",
            device.id,
            {"extension": extension.full_number, "mac": device.mac},
            subject_path=device.tree_path,
        )
        await session.commit()
    return problems


async def rotate_device_key(
    db: RequestDatabase,
    services: Services,
    viewer: Viewer,
    client_address: str | None,
    device_id: int,
) -> tuple[Device | None, Problems]:
    """Issue a new key: the old links stop working at once, the files carry the new ones."""
    problems = Problems()
    async with db.writing() as session:
        device = await _modifiable_device(session, viewer, device_id, problems)
        if device is None:
            return None, problems
        set_device_key(device, services.secrets, new_device_key())
        device.updated_at = utcnow()
        await render_devices(session, services.secrets, [device.id])
        await record(
            session,
            viewer,
            client_address,
            "device.rotate_key",
            "device",
            device.id,
            subject_path=device.tree_path,
        )
        await session.commit()
    return device, problems


async def regenerate_devices(
    db: RequestDatabase,
    services: Services,
    viewer: Viewer,
    client_address: str | None,
    *,
    device_ids: list[int] | None,
    template_id: int | None,
    everything: bool,
) -> tuple[RenderReport, Problems]:
    """Re-render the files of the chosen devices the viewer may modify."""
    problems = Problems()
    if sum((device_ids is not None, template_id is not None, everything)) != 1:
        problems.add(None, ErrorCode.INVALID, "Choose exactly one of deviceIds, templateId or all.")
        return RenderReport(), problems
    async with db.writing() as session:
        statement = select(Device.id).join(Extension, Extension.id == Device.extension_id)
        if not viewer.is_admin:
            if viewer.permissions.provisioning is not ProvisioningLevel.MODIFY:
                return RenderReport(), problems
            statement = statement.where(Extension.provisioning == ProvisioningLevel.MODIFY)
        if device_ids is not None:
            statement = statement.where(Device.id.in_(device_ids))
        elif template_id is not None:
            statement = statement.where(Device.template_id == template_id)
        ids = list(await session.scalars(statement.order_by(Device.id)))
        report = await render_devices(session, services.secrets, ids)
        await record(
            session,
            viewer,
            client_address,
            "device.regenerate",
            "device",
            None,
            {"devices": report.devices, "failures": len(report.failures)},
        )
        await session.commit()
    return report, problems


# --- helpers -------------------------------------------------------------------------------

_REQUIRED_ON_CREATE = {
    "friendly_name": "friendlyName",
    "manufacturer": "manufacturer",
    "model": "model",
    "firmware": "firmware",
    "mac": "mac",
}


async def _modifiable_extension(
    session: AsyncSession, viewer: Viewer, extension_id: int, problems: Problems
) -> Extension | None:
    extension = await get_extension(session, extension_id)
    if extension is None:
        problems.add("extensionId", ErrorCode.NOT_FOUND, "No such extension.")
        return None
    if not extension.is_phone_terminal:
        problems.add(
            "extensionId", ErrorCode.INVALID, "Only phone terminal extensions have devices."
        )
        return None
    if device_access(viewer, extension) is not ProvisioningLevel.MODIFY:
        problems.add(
            "extensionId",
            ErrorCode.NOT_ALLOWED,
            "Provisioning devices on this extension needs the Modify permission.",
        )
        return None
    return extension


async def _modifiable_device(
    session: AsyncSession, viewer: Viewer, device_id: int, problems: Problems
) -> Device | None:
    device = await get_device(session, viewer, device_id)
    extension = None if device is None else await get_extension(session, device.extension_id)
    if (
        device is None
        or extension is None
        or device_access(viewer, extension) is not ProvisioningLevel.MODIFY
    ):
        problems.add("deviceId", ErrorCode.NOT_FOUND, "No such device.")
        return None
    return device


async def _device_of(session: AsyncSession, extension_id: int) -> Device | None:
    return (
        await session.scalars(select(Device).where(Device.extension_id == extension_id))
    ).one_or_none()


def _merged(existing: Device | None, changes: DeviceFields, problems: Problems) -> dict[str, Any]:
    """The device's values after the change: given fields over stored ones over defaults."""
    names = [
        f.name
        for f in fields(DeviceFields)
        if f.name
        not in {
            "template",
            "regenerate",
            "admin_password",
            "admin_password_confirmation",
            "http_authentication",
            "require_client_certificate",
        }
    ]
    values: dict[str, Any] = {}
    for name in names:
        given = getattr(changes, name)
        values[name] = (
            given if given is not None else (getattr(existing, name) if existing else None)
        )
    if existing is None:
        for name, field_name in _REQUIRED_ON_CREATE.items():
            if values[name] in (None, ""):
                problems.add(field_name, ErrorCode.REQUIRED, "Required to provision a device.")
    if changes.mac is not None:
        values["mac"] = rules.normalize_mac_input(changes.mac, problems)
    values["friendly_name"] = (values["friendly_name"] or "").strip() or None
    return values


def _check_fields(
    values: dict[str, Any], changes: DeviceFields, existing: Device | None, problems: Problems
) -> Any:
    if values["friendly_name"] is not None:
        rules.check_friendly_name(values["friendly_name"], problems)
    equipment = None
    if values["manufacturer"] and values["model"] and values["firmware"]:
        equipment = rules.check_equipment(
            values["manufacturer"], values["model"], values["firmware"], problems
        )
    rules.check_application_version(
        (values["application_version"] or "").strip(), equipment, problems
    )
    if values["update_interval"] is not None:
        rules.check_interval(values["update_interval"], problems)
    if values["update_protocol"] is not None:
        rules.check_protocol(values["update_protocol"], equipment, problems)
    if changes.password_generation is PasswordGeneration.MANUAL:
        rules.check_admin_password(
            changes.admin_password, changes.admin_password_confirmation, problems
        )
    elif changes.admin_password is not None:
        problems.add(
            "adminPassword",
            ErrorCode.INVALID,
            "Choose MANUAL password generation to type a password.",
        )
    if values["notes"] is not None:
        check_text("notes", values["notes"], MAX_NOTES, problems, single_line=False)
    if values["admin_username"] is not None:
        check_text("adminUsername", values["admin_username"], 64, problems, single_line=True)
    return equipment


def _check_transport(
    values: dict[str, Any],
    changes: DeviceFields,
    existing: Device | None,
    equipment: Equipment | None,
    https_served: bool,
    problems: Problems,
) -> None:
    """Default the protocol to one this server serves; refuse a new choice of HTTPS without
    TLS (a device already on HTTPS is flagged in its links, not broken)."""
    if values["update_protocol"] is None and equipment is not None:
        values["update_protocol"] = rules.default_protocol(equipment, https_served=https_served)
    protocol = values["update_protocol"]
    newly_https = protocol is UpdateProtocol.HTTPS and (
        existing is None or existing.update_protocol is not UpdateProtocol.HTTPS
    )
    if newly_https and not https_served:
        problems.add(
            "updateProtocol",
            ErrorCode.INVALID,
            "This server serves no HTTPS: configure TLS (MAGNAPROV_TLS_CERT_FILE and "
            "MAGNAPROV_TLS_KEY_FILE) or choose HTTP.",
        )
    required = changes.require_client_certificate
    if required is None:
        required = existing is not None and existing.require_client_certificate
    values["require_client_certificate"] = required
    if required and protocol is not UpdateProtocol.HTTPS:
        problems.add(
            "requireClientCertificate",
            ErrorCode.INVALID,
            "A client certificate is checked over HTTPS only: choose HTTPS as update protocol.",
        )


async def _mac_holder(session: AsyncSession, mac: str, existing: Device | None) -> MacHolder | None:
    """The other device that has `mac`, in any tenant."""
    other = (
        await session.execute(
            select(Device.id, Extension.full_number, Device.tree_path)
            .join(Extension, Extension.id == Device.extension_id)
            .where(Device.mac == mac, Device.id != (existing.id if existing else -1))
            .execution_options(**UNSCOPED)  # uniqueness spans every tenant
        )
    ).one_or_none()
    return None if other is None else MacHolder(*other)


def _duplicate_mac(problems: Problems, viewer: Viewer, other_number: str | None) -> Problems:
    # Only the admin learns where the MAC is used: anyone else could probe other tenants.
    where = (
        f" by the device of extension {other_number}" if viewer.is_admin and other_number else ""
    )
    problems.add(
        "mac",
        ErrorCode.DUPLICATE_MAC,
        f"This MAC address is already used{where}; no provisioning link was generated.",
    )
    return problems


async def _check_template(
    session: AsyncSession,
    viewer: Viewer,
    template_id: int,
    values: dict[str, Any],
    problems: Problems,
) -> None:
    equipment = (values["manufacturer"], values["model"], values["firmware"])
    if not await may_choose_template(session, viewer, template_id, *equipment):
        problems.add(
            "templateId",
            ErrorCode.NOT_FOUND,
            "Choose the Server default or one of your own templates with files for this equipment.",
        )


def _admin_password(existing: Device | None, changes: DeviceFields) -> str | None:
    """The new clear admin password, "" to clear it, None to keep what is stored."""
    generation = changes.password_generation
    if generation is PasswordGeneration.NONE:
        return ""
    if generation is PasswordGeneration.MANUAL:
        return changes.admin_password
    if generation is PasswordGeneration.AUTO:
        keep = existing is not None and existing.password_generation is PasswordGeneration.AUTO
        return None if keep and not changes.regenerate else rules.generate_admin_password()
    return None


def _apply(device: Device, values: dict[str, Any], changes: DeviceFields, tree_path: str) -> None:
    device.tree_path = tree_path
    device.friendly_name = values["friendly_name"]
    device.manufacturer = values["manufacturer"]
    device.model = values["model"]
    device.firmware = values["firmware"]
    device.application_version = (values["application_version"] or "").strip()
    device.mac = values["mac"]
    device.update_protocol = values["update_protocol"]
    device.require_client_certificate = values["require_client_certificate"]
    for name, default in (
        ("use_mac_provisioning", False),
        ("generation_enabled", True),
        ("notes", ""),
        ("admin_username", "admin"),
        ("password_generation", PasswordGeneration.NONE),
        ("update_interval", 10),
    ):
        setattr(device, name, values[name] if values[name] is not None else default)
    if changes.template is not None:
        device.template_id = changes.template.template_id
    device.updated_at = utcnow()


def _set_http_authentication(device: Device, box: SecretBox, wanted: bool | None) -> None:
    """Turn HTTP Digest for the device's files on (keeping credentials it already has) or off."""
    if wanted is None:
        return
    if not wanted:
        device.digest_username = None
        device.digest_password = None
    elif device.digest_password is None:
        device.digest_username = f"prov-{device.id}"
        device.digest_password = box.encrypt(
            secrets.token_urlsafe(HTTP_AUTH_PASSWORD_BYTES),
            device.secret_identity("digest_password"),
        )


def _changed_names(changes: DeviceFields) -> list[str]:
    secret = {"admin_password", "admin_password_confirmation"}
    return [
        f.name
        for f in fields(changes)
        if f.name not in secret and getattr(changes, f.name) not in (None, False)
    ]
