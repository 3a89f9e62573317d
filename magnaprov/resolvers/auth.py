"""Logging in, and the bearer tokens that identify a caller."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from magnaprov.db import UNSCOPED, AccessToken, Account, Role, TokenKind, utcnow
from magnaprov.resolvers.audit import Actor, add_entry
from magnaprov.resolvers.database import RequestDatabase
from magnaprov.resolvers.errors import ErrorCode, Problems
from magnaprov.resolvers.services import Services
from magnaprov.tenancy import (
    PermissionRow,
    Viewer,
    effective_permissions,
    fold_login,
    hash_token,
    new_token,
)

__all__ = [
    "IssuedToken",
    "authenticate",
    "create_api_token",
    "list_api_tokens",
    "login",
    "logout",
    "revoke_api_token",
]

log = logging.getLogger("magnaprov.auth")

MAX_TOKEN_NAME = 100
MAX_API_TOKEN_DAYS = 3650
_BAD_CREDENTIALS = "Invalid login or password."
_THROTTLED = "Too many login attempts; wait a few minutes and try again."
# Logins are at most 64 characters: an audited attempt keeps no more of what was typed.
MAX_AUDITED_LOGIN = 64


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just created: the only moment its clear value exists."""

    token: str
    row: AccessToken


# Every role but the last has children of the next (admin, provider, organization, user), so an
# account has at most len(Role) - 1 ancestors: the token's statement joins them all by parent.
_ANCESTORS: tuple[Any, ...] = tuple(
    aliased(Account, name=f"ancestor_{level}") for level in range(1, len(Role))
)
_PERMISSION_COLUMNS = 3  # role, provisioning, sip_management of each account of the chain


def _token_statement() -> Select[Any]:
    """The token's row, its account and the permission columns of the account's ancestors.

    Ancestors lie outside a viewer's scope, but their levels cap the viewer's own: the read is
    unscoped on purpose and takes only their permission columns.
    """
    chain: list[Any] = [Account, *_ANCESTORS]
    statement = select(
        AccessToken.id,
        AccessToken.expires_at,
        Account.id.label("account_id"),
        Account.tree_path,
        *(column for account in chain for column in _permission_columns(account)),
    ).join(Account, Account.id == AccessToken.account_id)
    for child, parent in zip(chain, _ANCESTORS, strict=False):
        statement = statement.outerjoin(parent, parent.id == child.parent_id)
    return statement.execution_options(**UNSCOPED)


def _permission_columns(account: Any) -> tuple[Any, ...]:
    return (account.role, account.provisioning, account.sip_management)


def _chain_from_root(columns: Sequence[Any]) -> list[PermissionRow]:
    """The permission rows of the account and its ancestors, root first, from their columns."""
    chain = [
        PermissionRow(*columns[start : start + _PERMISSION_COLUMNS])
        for start in range(0, len(columns), _PERMISSION_COLUMNS)
        if columns[start] is not None  # no ancestor that far up
    ]
    return chain[::-1]


_TOKEN_STATEMENT = _token_statement()


async def authenticate(session: AsyncSession, token: str | None) -> Viewer | None:
    """The viewer a bearer token stands for, or None when it is missing, unknown or expired.

    One statement whatever the viewer's role: it runs before every authenticated request.
    """
    if not token:
        return None
    statement = _TOKEN_STATEMENT.where(AccessToken.token_hash == hash_token(token))
    row = (await session.execute(statement)).one_or_none()
    if row is None:
        return None
    token_id, expires_at, account_id, tree_path, *chain_columns = tuple(row)
    if expires_at is not None and expires_at <= utcnow():
        return None
    chain = _chain_from_root(chain_columns)
    role = chain[-1].role
    return Viewer(account_id, role, tree_path, effective_permissions(chain), token_id=token_id)


async def login(
    db: RequestDatabase,
    services: Services,
    login_name: str,
    password: str,
    client_address: str | None = None,
) -> tuple[IssuedToken | None, Problems]:
    """A session token for valid credentials; the same answer for a wrong login or password.

    Throttled attempts (see `LoginThrottle`, `HasherShares`) are refused before any hashing,
    with one answer whether the login exists or not. Failed and successful attempts are
    audited (the name and address, never the password). The hash is checked outside any
    transaction so a slow argon2 never holds a write lock.
    """
    problems = Problems()
    if not await services.login_throttle.admit(login_name, client_address):
        problems.add(None, ErrorCode.THROTTLED, _THROTTLED)
        return None, problems
    async with services.hasher_shares.claim(client_address) as may_hash:
        if not may_hash:
            problems.add(None, ErrorCode.THROTTLED, _THROTTLED)
            return None, problems
        account, new_hash = await _check_password(db, services, login_name, password)
    attempt = _Attempt(login_name, client_address, account)
    if account is None or new_hash is None:
        await _record_attempt(db, attempt, succeeded=False)
        if account is None:
            log.info("login failed: unknown login", extra={"account_id": None})
        else:
            log.info("login failed: wrong password", extra={"account_id": account.id})
        problems.add(None, ErrorCode.INVALID_CREDENTIALS, _BAD_CREDENTIALS)
        return None, problems
    await services.login_throttle.succeeded(login_name)
    ttl = timedelta(hours=services.settings.session_ttl_hours)
    async with db.writing() as session:
        if new_hash != account.password_hash:
            await session.execute(
                update(Account)
                .where(Account.id == account.id, Account.password_hash == account.password_hash)
                .values(password_hash=new_hash)
            )
        issued = _issue(session, account.id, TokenKind.SESSION, None, utcnow() + ttl)
        _add_attempt_entry(session, attempt, succeeded=True)
        await session.commit()
    log.info("login succeeded", extra={"account_id": account.id, "token_id": issued.row.id})
    return issued, problems


@dataclass(frozen=True, slots=True)
class _Attempt:
    login_name: str
    client_address: str | None
    account: Account | None


async def _check_password(
    db: RequestDatabase, services: Services, login_name: str, password: str
) -> tuple[Account | None, str | None]:
    """The account of `login_name` (or None) and, when `password` is right, the hash to keep
    (a new one when the parameters changed), else None."""
    async with db.reading() as session:
        account = (
            await session.scalars(
                select(Account)
                .where(Account.login_key == fold_login(login_name))
                .execution_options(**UNSCOPED)
            )
        ).one_or_none()
    hasher = services.hasher
    # Logged, never with the password, nor with a login name nobody has (it may be a password
    # typed in the wrong field).
    if account is None:
        await hasher.spend_equal_time(password)
        return None, None
    if not await hasher.verify(account.password_hash, password):
        return account, None
    if hasher.needs_rehash(account.password_hash):
        return account, await hasher.hash(password)
    return account, account.password_hash


async def _record_attempt(db: RequestDatabase, attempt: _Attempt, *, succeeded: bool) -> None:
    async with db.writing() as session:
        _add_attempt_entry(session, attempt, succeeded=succeeded)
        await session.commit()


def _add_attempt_entry(session: AsyncSession, attempt: _Attempt, *, succeeded: bool) -> None:
    """The audit entry of a login attempt: read by the account's subtree (itself and those
    above it), and only by the admin for a name no account has."""
    typed = attempt.login_name.strip()[:MAX_AUDITED_LOGIN]
    account = attempt.account
    actor = (
        Actor(account.id, account.login, account.tree_path)
        if succeeded and account is not None
        else Actor(None, typed, None)
    )
    subject = (
        ("account", None, None) if account is None else ("account", account.id, account.tree_path)
    )
    add_entry(
        session,
        actor,
        attempt.client_address,
        "login.succeeded" if succeeded else "login.failed",
        subject,
        {"login": typed},
    )


async def logout(session: AsyncSession, viewer: Viewer) -> None:
    """End the session (or revoke the API token) the request came with."""
    await session.execute(delete(AccessToken).where(AccessToken.id == viewer.token_id))
    await session.commit()


async def create_api_token(
    session: AsyncSession, viewer: Viewer, name: str, expires_in_days: int | None
) -> tuple[IssuedToken | None, Problems]:
    """A named, long-lived token for scripts; None for `expires_in_days` means it never expires."""
    problems = Problems()
    name = name.strip()
    if not name:
        problems.add("name", ErrorCode.REQUIRED, "Name is required.")
    elif len(name) > MAX_TOKEN_NAME:
        problems.add(
            "name", ErrorCode.TOO_LONG, f"Name must be at most {MAX_TOKEN_NAME} characters."
        )
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_API_TOKEN_DAYS:
        problems.add(
            "expiresInDays",
            ErrorCode.OUT_OF_RANGE,
            f"Expiry must be between 1 and {MAX_API_TOKEN_DAYS} days, or empty for no expiry.",
        )
    if problems:
        return None, problems
    expires_at = None if expires_in_days is None else utcnow() + timedelta(days=expires_in_days)
    issued = _issue(session, viewer.account_id, TokenKind.API, name, expires_at)
    await session.commit()
    return issued, problems


async def list_api_tokens(session: AsyncSession, viewer: Viewer) -> list[AccessToken]:
    """The viewer's own API tokens, newest first (sessions are not listed)."""
    rows = await session.scalars(
        select(AccessToken)
        .where(AccessToken.account_id == viewer.account_id, AccessToken.kind == TokenKind.API)
        .order_by(AccessToken.id.desc())
    )
    return list(rows)


async def revoke_api_token(session: AsyncSession, viewer: Viewer, token_id: int) -> Problems:
    """Delete one of the viewer's API tokens; another's token is "not found"."""
    problems = Problems()
    result = await session.execute(
        delete(AccessToken).where(
            AccessToken.id == token_id,
            AccessToken.account_id == viewer.account_id,
            AccessToken.kind == TokenKind.API,
        )
    )
    if getattr(result, "rowcount", 0) != 1:
        problems.add("id", ErrorCode.NOT_FOUND, "No such API token.")
        return problems
    await session.commit()
    return problems


def _issue(
    session: AsyncSession,
    account_id: int,
    kind: TokenKind,
    name: str | None,
    expires_at: datetime | None,
) -> IssuedToken:
    token = new_token()
    row = AccessToken(
        account_id=account_id,
        kind=kind,
        name=name,
        token_hash=hash_token(token),
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(row)
    return IssuedToken(token, row)
