"""Use cases of the account tree: list, read, create, update, delete."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from magnaprov.db import (
    UNSCOPED,
    Account,
    Extension,
    ProvisioningLevel,
    ProvisioningTemplate,
    Role,
    child_role,
    utcnow,
)
from magnaprov.resolvers.database import RequestDatabase
from magnaprov.resolvers.device_values import (
    check_value,
    equipment_following_interface_password,
)
from magnaprov.resolvers.errors import ErrorCode, Problems
from magnaprov.resolvers.pagination import Page, paginate
from magnaprov.resolvers.rendering import rerender_subtree
from magnaprov.resolvers.search import like_pattern
from magnaprov.resolvers.services import Services
from magnaprov.resolvers.sip_preferences import follow_interface_password
from magnaprov.resolvers.text_input import check_name
from magnaprov.tenancy import (
    Permissions,
    Viewer,
    can_grant,
    email_problem,
    fold_login,
    login_problem,
    password_problem,
)

__all__ = [
    "AccountChanges",
    "NewAccount",
    "create_account",
    "delete_account",
    "get_account",
    "list_accounts",
    "set_account_permissions",
    "update_account",
]

MAX_NAME = 200
MAX_ORGANIZATION_CODE = 9999


@dataclass(frozen=True, slots=True)
class NewAccount:
    """Input of `create_account`."""

    parent_id: int
    name: str
    login: str
    password: str
    email: str | None = None
    provisioning: ProvisioningLevel = ProvisioningLevel.NONE
    sip_management: bool = False


@dataclass(frozen=True, slots=True)
class AccountChanges:
    """Input of `update_account`: None leaves a field as it is."""

    name: str | None = None
    login: str | None = None
    password: str | None = None
    current_password: str | None = None
    email: str | None = None


async def list_accounts(
    session: AsyncSession,
    *,
    role: Role | None,
    parent_id: int | None,
    search: str | None,
    first: int | None,
    after: str | None,
) -> Page[Account]:
    """Accounts of the viewer's subtree (the session is scoped), filtered."""
    statement = select(Account)
    if role is not None:
        statement = statement.where(Account.role == role)
    if parent_id is not None:
        statement = statement.where(Account.parent_id == parent_id)
    if search:
        pattern = like_pattern(search)
        statement = statement.where(
            or_(
                func.lower(Account.name).like(pattern, escape="\\"),
                Account.login_key.like(pattern, escape="\\"),
            )
        )
    return await paginate(session, statement, Account.id, first, after)


async def get_account(session: AsyncSession, account_id: int) -> Account | None:
    """The account if the viewer may see it (the session is scoped), else None."""
    return await session.get(Account, account_id)


async def create_account(
    db: RequestDatabase, services: Services, viewer: Viewer, new: NewAccount
) -> tuple[Account | None, Problems]:
    """A child of `new.parent_id`; its role follows from the parent's."""
    problems = Problems()
    name = check_name(new.name, problems, limit=MAX_NAME)
    _check_login(new.login, problems)
    _check_password(new.password, new.login, problems)
    email = _check_email(new.email, problems)
    for field_name in can_grant(
        viewer.permissions, viewer.role, Permissions(new.provisioning, new.sip_management)
    ):
        problems.add(field_name, ErrorCode.GRANT_EXCEEDS_OWN, _GRANT_MESSAGE)
    async with db.reading() as session:
        parent = await get_account(session, new.parent_id)
        if parent is None:
            problems.add("parentId", ErrorCode.NOT_FOUND, "No such account.")
        elif child_role(parent.role) is None:
            problems.add(
                "parentId", ErrorCode.INVALID, "A user account cannot have child accounts."
            )
        if await _login_taken(session, new.login):
            problems.add("login", ErrorCode.TAKEN, "This login is already in use.")
    if problems or parent is None:
        return None, problems
    password_hash = await services.hasher.hash(new.password)
    async with db.writing() as session:
        account = Account(
            parent_id=parent.id,
            role=child_role(parent.role),
            name=name,
            login=new.login.strip(),
            login_key=fold_login(new.login),
            password_hash=password_hash,
            email=email,
            provisioning=new.provisioning,
            sip_management=new.sip_management,
            tree_path=f"{parent.tree_path}new/",  # replaced below, once the id is known
        )
        if account.role is Role.ORGANIZATION:
            account.code = await _next_organization_code(session)
            if account.code is None:
                problems.add(
                    "parentId", ErrorCode.LIMIT_REACHED, "All 9999 organization codes are used."
                )
                return None, problems
        session.add(account)
        try:
            await session.flush()
            account.tree_path = f"{parent.tree_path}{account.id}/"
            await session.commit()
        except IntegrityError:
            # Lost a race for the login or the organization code: report it, write nothing.
            problems.add("login", ErrorCode.TAKEN, "This login or code was just taken; try again.")
            return None, problems
    return account, problems


async def update_account(
    db: RequestDatabase,
    services: Services,
    viewer: Viewer,
    account_id: int,
    changes: AccountChanges,
) -> tuple[Account | None, Problems]:
    """Change name, login, password or e-mail of the viewer itself or an account it manages."""
    problems = Problems()
    async with db.reading() as session:
        account = await get_account(session, account_id)
        if account is None or not (
            account.id == viewer.account_id or viewer.manages(account.tree_path)
        ):
            problems.add("id", ErrorCode.NOT_FOUND, "No such account.")
            return None, problems
        if changes.login is not None and fold_login(changes.login) != account.login_key:
            _check_login(changes.login, problems)
            if await _login_taken(session, changes.login):
                problems.add("login", ErrorCode.TAKEN, "This login is already in use.")
    name = check_name(changes.name, problems, limit=MAX_NAME) if changes.name is not None else None
    email = _check_email(changes.email, problems) if changes.email is not None else None
    password_hash = None
    if changes.password is not None:
        _check_password(changes.password, changes.login or account.login, problems)
        if account.id == viewer.account_id and not await _current_password_ok(
            services, account, changes.current_password
        ):
            problems.add(
                "currentPassword",
                ErrorCode.INVALID_CREDENTIALS,
                "Your current password is required to set a new one.",
            )
        if not problems:
            password_hash = await services.hasher.hash(changes.password)
    if problems:
        return None, problems
    async with db.writing() as session:
        if changes.password is not None:
            for equipment in await equipment_following_interface_password(session, account.id):
                check_value(problems, "password", equipment, changes.password, "password")
            if problems:  # phones using it as their phone password could not hold it exactly
                return None, problems
        if name is not None:
            account.name = name
        if changes.login is not None:
            account.login = changes.login.strip()
            account.login_key = fold_login(changes.login)
        if changes.email is not None:
            account.email = email or None
        if password_hash is not None and changes.password is not None:
            account.password_hash = password_hash
            await follow_interface_password(session, services.secrets, account.id, changes.password)
        account.updated_at = utcnow()
        try:
            await session.flush()
            if name is not None or changes.login is not None:
                # Names and logins appear in phone files: re-render what lies below.
                await rerender_subtree(session, services.secrets, account.tree_path)
            await session.commit()
        except IntegrityError:
            problems.add("login", ErrorCode.TAKEN, "This login is already in use.")
            return None, problems
    return account, problems


async def set_account_permissions(
    db: RequestDatabase,
    viewer: Viewer,
    account_id: int,
    provisioning: ProvisioningLevel | None,
    sip_management: bool | None,
) -> tuple[Account | None, Problems]:
    """Set what an account below the viewer may do, at most what the viewer itself may."""
    problems = Problems()
    async with db.writing() as session:
        account = await get_account(session, account_id)
        if account is None or not viewer.manages(account.tree_path):
            problems.add("id", ErrorCode.NOT_FOUND, "No such account.")
            return None, problems
        wanted = Permissions(
            provisioning if provisioning is not None else account.provisioning,
            sip_management if sip_management is not None else account.sip_management,
        )
        for field_name in can_grant(viewer.permissions, viewer.role, wanted):
            problems.add(field_name, ErrorCode.GRANT_EXCEEDS_OWN, _GRANT_MESSAGE)
        if problems:
            return None, problems
        account.provisioning = wanted.provisioning
        account.sip_management = wanted.sip_management
        account.updated_at = utcnow()
        await session.commit()
    return account, problems


async def delete_account(db: RequestDatabase, viewer: Viewer, account_id: int) -> Problems:
    """Delete an account below the viewer that has no child accounts or extensions left."""
    problems = Problems()
    async with db.writing() as session:
        account = await get_account(session, account_id)
        if account is None or not viewer.manages(account.tree_path):
            problems.add("id", ErrorCode.NOT_FOUND, "No such account.")
            return problems
        blocker = await _what_blocks_deletion(session, account)
        if blocker:
            problems.add("id", ErrorCode.HAS_CHILDREN, blocker)
            return problems
        await session.delete(account)
        await session.commit()
    return problems


_GRANT_MESSAGE = "You cannot grant more than your own effective permission."


async def _what_blocks_deletion(session: AsyncSession, account: Account) -> str | None:
    """Why `account` cannot go yet: it still has child accounts or extensions."""
    children = await session.scalar(
        select(func.count()).select_from(Account).where(Account.parent_id == account.id)
    )
    if children:
        return f"This account still has {children} child account(s); delete them first."
    extensions = await session.scalar(
        select(func.count()).select_from(Extension).where(Extension.owner_id == account.id)
    )
    if extensions:
        return f"This account still owns {extensions} extension(s); delete them first."
    templates = await session.scalar(
        select(func.count())
        .select_from(ProvisioningTemplate)
        .where(ProvisioningTemplate.owner_id == account.id)
    )
    if templates:
        return f"This account still owns {templates} provisioning template(s); delete them first."
    return None


def _check_login(login: str, problems: Problems) -> None:
    message = login_problem(login.strip())
    if message:
        problems.add("login", ErrorCode.INVALID, message)


def _check_password(password: str, login: str, problems: Problems) -> None:
    message = password_problem(password, login)
    if message:
        problems.add("password", ErrorCode.WEAK_PASSWORD, message)


def _check_email(email: str | None, problems: Problems) -> str | None:
    email = (email or "").strip()
    message = email_problem(email) if email else None
    if message:
        problems.add("email", ErrorCode.INVALID, message)
    return email or None


async def _current_password_ok(services: Services, account: Account, password: str | None) -> bool:
    return password is not None and await services.hasher.verify(account.password_hash, password)


async def _login_taken(session: AsyncSession, login: str) -> bool:
    taken = await session.scalar(
        select(exists().where(Account.login_key == fold_login(login))).execution_options(**UNSCOPED)
    )
    return bool(taken)


async def _next_organization_code(session: AsyncSession) -> str | None:
    highest = await session.scalar(select(func.max(Account.code)).execution_options(**UNSCOPED))
    number = int(highest) + 1 if highest else 1
    return None if number > MAX_ORGANIZATION_CODE else f"{number:04d}"
