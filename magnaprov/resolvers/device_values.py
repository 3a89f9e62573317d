"""On save, the values that reach a device's files must fit its vendor's formats exactly.

A phone never holds a value other than the stored one: a phone or administrator password,
display name (the extension's name) or administrator user that its files could not carry
(see `templating.exact_values`) is refused, on the field it came in, naming the character
and the vendor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from magnaprov.db import UNSCOPED, Device, Extension, PasswordGeneration, SipPreferences
from magnaprov.resolvers.errors import ErrorCode, Problems
from magnaprov.templating import Equipment, ValueRole, find_equipment, value_problem
from magnaprov.tenancy import SecretBox

__all__ = [
    "AdminPasswordChoice",
    "check_device_values",
    "check_value",
    "device_equipment",
    "equipment_following_interface_password",
]


class AdminPasswordChoice(Protocol):
    """What `check_device_values` reads of a provisionDevice call."""

    @property
    def password_generation(self) -> PasswordGeneration | None: ...

    @property
    def admin_password(self) -> str | None: ...


def check_value(
    problems: Problems, field_name: str, equipment: Equipment, value: str, role: ValueRole
) -> None:
    """Report `value` on `field_name` if `equipment`'s files cannot carry it exactly."""
    message = value_problem(equipment, value, role)
    if message is not None:
        problems.add(field_name, ErrorCode.UNSUPPORTED_CHARACTER, message)


async def device_equipment(session: AsyncSession, extension_id: int) -> Equipment | None:
    """The equipment of the extension's device, if it has one."""
    row = (
        await session.execute(
            select(Device.manufacturer, Device.model, Device.firmware)
            .where(Device.extension_id == extension_id)
            .execution_options(**UNSCOPED)
        )
    ).one_or_none()
    return None if row is None else find_equipment(*row)


async def equipment_following_interface_password(
    session: AsyncSession, owner_id: int
) -> Sequence[Equipment]:
    """The equipment of the owner's devices whose phone password follows the interface one."""
    rows = await session.execute(
        select(Device.manufacturer, Device.model, Device.firmware)
        .join(SipPreferences, SipPreferences.extension_id == Device.extension_id)
        .join(Extension, Extension.id == Device.extension_id)
        .where(Extension.owner_id == owner_id, SipPreferences.use_interface_password.is_(True))
        .execution_options(**UNSCOPED)
    )
    found = (find_equipment(*row) for row in rows)
    return [equipment for equipment in found if equipment is not None]


async def check_device_values(
    session: AsyncSession,
    box: SecretBox,
    extension: Extension,
    existing: Device | None,
    equipment: Equipment,
    values: Mapping[str, Any],
    changes: AdminPasswordChoice,
    problems: Problems,
) -> None:
    """provisionDevice: the administrator user and password, and, when the equipment is
    new to the extension, its stored phone password, name and administrator password."""
    if values["admin_username"] is not None:
        check_value(
            problems, "adminUsername", equipment, values["admin_username"], "administrator user"
        )
    typed = changes.admin_password
    if changes.password_generation is PasswordGeneration.MANUAL and typed:
        check_value(problems, "adminPassword", equipment, typed, "administrator password")
    if existing is not None and find_equipment(*_keys(existing)) == equipment:
        return  # the same vendor as before: what is stored was checked against it
    await _check_stored_line_values(session, box, extension, equipment, problems)
    if existing is not None and existing.admin_password is not None and typed is None:
        stored = box.decrypt(existing.admin_password, existing.secret_identity("admin_password"))
        check_value(problems, "manufacturer", equipment, stored, "administrator password")


def _keys(device: Device) -> tuple[str, str, str]:
    return device.manufacturer, device.model, device.firmware


async def _check_stored_line_values(
    session: AsyncSession,
    box: SecretBox,
    extension: Extension,
    equipment: Equipment,
    problems: Problems,
) -> None:
    """The extension's stored phone password and name, for a device of `equipment`.

    Reported on `manufacturer`: it is the choice of vendor that does not fit them.
    """
    preferences = await session.get(SipPreferences, extension.id)
    stored: list[tuple[str, ValueRole]] = [(extension.name, "display name")]
    if preferences is not None and preferences.phone_password is not None:
        password = box.decrypt(preferences.phone_password, preferences.password_identity())
        stored.append((password, "password"))
    for value, role in stored:
        check_value(problems, "manufacturer", equipment, value, role)
