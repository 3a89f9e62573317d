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
    db: RequestDatabase, services: Services, login_name: str, password: str
) -> tuple[IssuedToken | None, Problems]:
    """A session token for valid credentials; the same answer for a wrong login or password.

    The hash is checked outside any transaction so a slow argon2 never holds a write lock.
    """
    problems = Problems()
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
        problems.add(None, ErrorCode.INVALID_CREDENTIALS, _BAD_CREDENTIALS)
        log.info("login failed: unknown login", extra={"account_id": None})
        return None, problems
    if not await hasher.verify(account.password_hash, password):
        problems.add(None, ErrorCode.INVALID_CREDENTIALS, _BAD_CREDENTIALS)
        log.info("login failed: wrong password", extra={"account_id": account.id})
        return None, problems
    new_hash = await hasher.hash(password) if hasher.needs_rehash(account.password_hash) else None
    ttl = timedelta(hours=services.settings.session_ttl_hours)
    async with db.writing() as session:
        if new_hash is not None:
            await session.execute(
                update(Account)
                .where(Account.id == account.id, Account.password_hash == account.password_hash)
                .values(password_hash=new_hash)
            )
        issued = _issue(session, account.id, TokenKind.SESSION, None, utcnow() + ttl)
        await session.commit()
    log.info("login succeeded", extra={"account_id": account.id, "token_id": issued.row.id})
    return issued, problems


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
