"""The admin account: created once, on first start."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from magnaprov.db import UNSCOPED, Account, ProvisioningLevel, Role
from magnaprov.resolvers.services import Services
from magnaprov.tenancy import fold_login, password_problem

__all__ = ["ADMIN_LOGIN", "AdminBootstrap", "ensure_admin", "reset_admin_password"]

ADMIN_LOGIN = "admin"


@dataclass(frozen=True, slots=True)
class AdminBootstrap:
    """What `ensure_admin` did: `password` is set only when it generated one to print."""

    created: bool
    generated_password: str | None


async def ensure_admin(
    session: AsyncSession, services: Services, password: str | None
) -> AdminBootstrap:
    """Create the admin unless it exists; an existing admin is left exactly as it is."""
    if await _find_admin(session) is not None:
        return AdminBootstrap(created=False, generated_password=None)
    generated = None
    if password is None:
        password = generated = secrets.token_urlsafe(18)
    else:
        _require_strong(password)
    admin = Account(
        parent_id=None,
        role=Role.ADMIN,
        name="Administrator",
        login=ADMIN_LOGIN,
        login_key=fold_login(ADMIN_LOGIN),
        password_hash=await services.hasher.hash(password),
        provisioning=ProvisioningLevel.MODIFY,
        sip_management=True,
        tree_path="/",  # replaced below, once the id is known
    )
    session.add(admin)
    try:
        await session.flush()
        admin.tree_path = f"/{admin.id}/"
        await session.commit()
    except IntegrityError:
        # Another process started at the same moment and created it: theirs stands.
        await session.rollback()
        return AdminBootstrap(created=False, generated_password=None)
    return AdminBootstrap(created=True, generated_password=generated)


async def reset_admin_password(session: AsyncSession, services: Services, password: str) -> None:
    """Give the existing admin a new password (the `create-admin --reset` path)."""
    admin = await _find_admin(session)
    if admin is None:
        raise LookupError("there is no admin account yet")
    _require_strong(password)
    admin.password_hash = await services.hasher.hash(password)
    await session.commit()


def _require_strong(password: str) -> None:
    problem = password_problem(password, ADMIN_LOGIN)
    if problem:
        raise ValueError(problem)


async def _find_admin(session: AsyncSession) -> Account | None:
    return (
        await session.scalars(
            select(Account).where(Account.role == Role.ADMIN).execution_options(**UNSCOPED)
        )
    ).one_or_none()
