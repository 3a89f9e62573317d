"""Writing and reading the audit log of device and template changes."""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from magnaprov.db import UNSCOPED, Account, AuditEntry, utcnow
from magnaprov.resolvers.pagination import Page, paginate
from magnaprov.tenancy import Viewer

__all__ = ["AuditScalar", "list_audit_entries", "record"]

AuditScalar = str | int | bool | None


async def record(
    session: AsyncSession,
    viewer: Viewer,
    client_address: str | None,
    action: str,
    object_type: str,
    object_id: int | None,
    details: Mapping[str, AuditScalar] | None = None,
) -> None:
    """Add an entry to the caller's transaction: it is kept exactly when the change is.

    `details` holds field names and non-secret values only; callers pass e.g. which fields
    changed, never a password or a key.
    """
    login = await session.scalar(
        select(Account.login).where(Account.id == viewer.account_id).execution_options(**UNSCOPED)
    )
    session.add(
        AuditEntry(
            at=utcnow(),
            actor_id=viewer.account_id,
            actor_login=login or "",
            client_address=client_address,
            action=action,
            object_type=object_type,
            object_id=object_id,
            details=json.dumps(dict(details or {}), sort_keys=True),
        )
    )


async def list_audit_entries(
    session: AsyncSession,
    *,
    object_type: str | None,
    object_id: int | None,
    first: int | None,
    after: str | None,
) -> Page[AuditEntry]:
    """Entries, oldest first, optionally for one object. Only the admin may call this."""
    statement = select(AuditEntry).execution_options(**UNSCOPED)
    if object_type is not None:
        statement = statement.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        statement = statement.where(AuditEntry.object_id == object_id)
    return await paginate(session, statement, AuditEntry.id, first, after)
