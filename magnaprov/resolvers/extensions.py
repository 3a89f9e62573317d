"""Use cases of phone extensions: list, read, create, update, delete."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from magnaprov.db import (
    UNSCOPED,
    Account,
    Extension,
    ExtensionType,
    ProvisioningLevel,
    Role,
    SipPreferences,
    utcnow,
)
from magnaprov.resolvers.database import RequestDatabase
from magnaprov.resolvers.device_values import check_value, device_equipment
from magnaprov.resolvers.errors import ErrorCode, Problems
from magnaprov.resolvers.pagination import Page, paginate
from magnaprov.resolvers.rendering import rerender_extensions
from magnaprov.resolvers.search import like_pattern
from magnaprov.resolvers.text_input import check_name
from magnaprov.tenancy import SecretBox, Viewer

__all__ = [
    "ExtensionChanges",
    "NewExtension",
    "create_extension",
    "delete_extension",
    "get_extension",
    "get_extension_by_number",
    "list_extensions",
    "set_provision_new_extensions",
    "update_extension",
]

MAX_NAME = 200
_NUMBER = re.compile(r"[0-9]{3}")  # not \d, which also accepts e.g. Arabic-Indic digits
_FULL_NUMBER = re.compile(r"[0-9]{4}\*[0-9]{3}")
_AUTO_NUMBER_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class NewExtension:
    """Input of `create_extension`; no number means the organization's next free one."""

    owner_id: int
    type: ExtensionType
    name: str
    number: str | None = None
    provisioning: ProvisioningLevel | None = None
    chat_server_access: bool = False


@dataclass(frozen=True, slots=True)
class ExtensionChanges:
    """Input of `update_extension`: None leaves a field as it is."""

    name: str | None = None
    number: str | None = None
    provisioning: ProvisioningLevel | None = None
    chat_server_access: bool | None = None


@dataclass(frozen=True, slots=True)
class CreatedExtension:
    """A new extension and what the front end does next."""

    extension: Extension
    message: str
    provision_next: bool


async def list_extensions(
    session: AsyncSession,
    *,
    under_account_id: int | None,
    search: str | None,
    type_: ExtensionType | None,
    first: int | None,
    after: str | None,
) -> Page[Extension]:
    """Extensions of the viewer's subtree (the session is scoped), optionally below an account.

    An account the viewer cannot see filters everything out, like an account with no extensions.
    """
    statement = select(Extension)
    if under_account_id is not None:
        under = await session.get(Account, under_account_id)
        statement = statement.where(
            Extension.tree_path.like(f"{under.tree_path}%") if under else false()
        )
    if type_ is not None:
        statement = statement.where(Extension.type == type_)
    if search:
        pattern = like_pattern(search)
        statement = statement.where(
            or_(
                func.lower(Extension.name).like(pattern, escape="\\"),
                Extension.full_number.like(pattern, escape="\\"),
            )
        )
    return await paginate(session, statement, Extension.id, first, after)


async def get_extension(session: AsyncSession, extension_id: int) -> Extension | None:
    """The extension if the viewer may see it, else None."""
    return await session.get(Extension, extension_id)


async def get_extension_by_number(session: AsyncSession, full_number: str) -> Extension | None:
    """The extension with full number e.g. ``0027*001`` if the viewer may see it."""
    if not _FULL_NUMBER.fullmatch(full_number):
        return None
    return (
        await session.scalars(select(Extension).where(Extension.full_number == full_number))
    ).one_or_none()


async def create_extension(
    db: RequestDatabase, viewer: Viewer, new: NewExtension
) -> tuple[CreatedExtension | None, Problems]:
    """An extension for a user below the viewer, numbered in the user's organization."""
    problems = Problems()
    name = check_name(new.name, problems, limit=MAX_NAME)
    if new.number is not None:
        _check_number(new.number, problems)
    level = _check_level(viewer, new.provisioning, problems)
    async with db.reading() as session:
        owner = await _managed_user(session, viewer, new.owner_id, problems)
        organization = None if owner is None else await _organization_of(session, owner)
        provision_next = await _provision_new_extensions(session, viewer)
    if problems or owner is None or organization is None:
        return None, problems
    # Plain values: a failed attempt rolls back, which expires every loaded row.
    owner_id, owner_path = owner.id, owner.tree_path
    organization_id, code = organization.id, organization.code
    for _attempt in range(_AUTO_NUMBER_ATTEMPTS):
        async with db.writing() as session:
            number = new.number or await _next_number(session, organization_id)
            if number is None:
                problems.add(
                    "number",
                    ErrorCode.LIMIT_REACHED,
                    "All 999 numbers of this organization are used.",
                )
                return None, problems
            extension = Extension(
                owner_id=owner_id,
                organization_id=organization_id,
                tree_path=owner_path,
                type=new.type,
                name=name,
                number=number,
                full_number=f"{code}*{number}",
                provisioning=level,
                chat_server_access=new.chat_server_access,
            )
            session.add(extension)
            try:
                await session.flush()
                if extension.is_phone_terminal:
                    session.add(SipPreferences(extension_id=extension.id))
                await session.commit()
            except IntegrityError:
                if new.number is not None:
                    problems.add(
                        "number",
                        ErrorCode.TAKEN,
                        f"Number {number} is already used in this organization.",
                    )
                    return None, problems
                continue  # another request took the same automatic number: take the next one
        message = (
            f"Extension {extension.name} ({extension.full_number}) has been successfully added."
        )
        return CreatedExtension(extension, message, provision_next), problems
    problems.add("number", ErrorCode.TAKEN, "Could not reserve a free number; try again.")
    return None, problems


async def update_extension(
    db: RequestDatabase,
    secrets: SecretBox,
    viewer: Viewer,
    extension_id: int,
    changes: ExtensionChanges,
) -> tuple[Extension | None, Problems]:
    """Rename, renumber, or change the provisioning level or chat access of an extension."""
    problems = Problems()
    name = check_name(changes.name, problems, limit=MAX_NAME) if changes.name is not None else None
    if changes.number is not None:
        _check_number(changes.number, problems)
    level = _check_level(viewer, changes.provisioning, problems) if changes.provisioning else None
    if problems:
        return None, problems
    async with db.writing() as session:
        extension = await _managed_extension(session, viewer, extension_id, problems)
        if extension is None:
            return None, problems
        equipment = None if name is None else await device_equipment(session, extension.id)
        if name is not None and equipment is not None:
            check_value(problems, "name", equipment, name, "display name")
            if problems:
                return None, problems
        if name is not None:
            extension.name = name
        if changes.number is not None and changes.number != extension.number:
            code = extension.full_number.split("*")[0]
            extension.number = changes.number
            extension.full_number = f"{code}*{changes.number}"
        if level is not None:
            extension.provisioning = level
        if changes.chat_server_access is not None:
            extension.chat_server_access = changes.chat_server_access
        extension.updated_at = utcnow()
        try:
            await session.flush()
            await rerender_extensions(session, secrets, [extension.id])
            await session.commit()
        except IntegrityError:
            problems.add(
                "number",
                ErrorCode.TAKEN,
                f"Number {changes.number} is already used in this organization.",
            )
            return None, problems
    return extension, problems


async def delete_extension(db: RequestDatabase, viewer: Viewer, extension_id: int) -> Problems:
    """Delete an extension with its SIP preferences, device and rendered files."""
    problems = Problems()
    async with db.writing() as session:
        extension = await _managed_extension(session, viewer, extension_id, problems)
        if extension is None:
            return problems
        # The database cascades to everything that hangs off the extension.
        await session.execute(delete(Extension).where(Extension.id == extension.id))
        await session.commit()
    return problems


async def set_provision_new_extensions(db: RequestDatabase, viewer: Viewer, enabled: bool) -> None:
    """Remember whether the viewer provisions every extension it adds right away."""
    async with db.writing() as session:
        account = await session.get(Account, viewer.account_id)
        if account is not None:
            account.provision_new_extensions = enabled
            await session.commit()


def _check_number(number: str, problems: Problems) -> None:
    if not _NUMBER.fullmatch(number) or number == "000":
        problems.add("number", ErrorCode.INVALID, "Number must be three digits, 001 to 999.")


def _check_level(
    viewer: Viewer, wanted: ProvisioningLevel | None, problems: Problems
) -> ProvisioningLevel:
    own = viewer.permissions.provisioning
    if wanted is None:
        return own
    if not viewer.is_admin and wanted.rank > own.rank:
        problems.add(
            "provisioning",
            ErrorCode.GRANT_EXCEEDS_OWN,
            "You cannot allow more provisioning than your own effective permission.",
        )
    return wanted


async def _managed_user(
    session: AsyncSession, viewer: Viewer, owner_id: int, problems: Problems
) -> Account | None:
    owner = await session.get(Account, owner_id)
    if owner is None or not viewer.manages(owner.tree_path):
        problems.add("ownerId", ErrorCode.NOT_FOUND, "No such account.")
        return None
    if owner.role is not Role.USER:
        problems.add("ownerId", ErrorCode.INVALID, "Extensions belong to user accounts.")
        return None
    return owner


async def _managed_extension(
    session: AsyncSession, viewer: Viewer, extension_id: int, problems: Problems
) -> Extension | None:
    extension = await get_extension(session, extension_id)
    if extension is None or not viewer.manages(extension.tree_path):
        problems.add("id", ErrorCode.NOT_FOUND, "No such extension.")
        return None
    return extension


async def _organization_of(session: AsyncSession, owner: Account) -> Account | None:
    return (
        await session.scalars(
            select(Account).where(Account.id == owner.parent_id).execution_options(**UNSCOPED)
        )
    ).one_or_none()


async def _provision_new_extensions(session: AsyncSession, viewer: Viewer) -> bool:
    account = await session.get(Account, viewer.account_id)
    return bool(account and account.provision_new_extensions)


async def _next_number(session: AsyncSession, organization_id: int) -> str | None:
    """The number after the organization's highest; the lowest gap once 999 is taken.

    Locks the organization's row first (PostgreSQL; SQLite's IMMEDIATE transaction already
    serializes writers), so concurrent automatic numbering in one organization takes turns
    instead of colliding; the unique constraint still guards explicitly chosen numbers.
    """
    await session.execute(
        select(Account.id)
        .where(Account.id == organization_id)
        .with_for_update()
        .execution_options(**UNSCOPED)
    )
    used = set(
        await session.scalars(
            select(Extension.number)
            .where(Extension.organization_id == organization_id)
            .execution_options(**UNSCOPED)
        )
    )
    highest = max((int(number) for number in used), default=0)
    if highest < 999:
        return f"{highest + 1:03d}"
    free = next((n for n in range(1, 1000) if f"{n:03d}" not in used), None)
    return None if free is None else f"{free:03d}"
