"""Writing and reading the audit log."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from magnaprov.db import UNSCOPED, Account, AuditEntry, utcnow
from magnaprov.resolvers.pagination import Page, paginate
from magnaprov.tenancy import Viewer

__all__ = [
    "NOBODY",
    "Actor",
    "AuditScalar",
    "actor_of",
    "add_entry",
    "list_audit_entries",
    "record",
]

AuditScalar = str | int | bool | None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who an entry names as acting; `tree_path` None keeps it out of every subtree's audit."""

    account_id: int | None
    login: str
    tree_path: str | None


# An entry shown to a tenant about what another tenant did names nobody.
NOBODY = Actor(None, "", None)


async def actor_of(session: AsyncSession, viewer: Viewer) -> Actor:
    """The viewer as an entry's actor."""
    login = await session.scalar(
        select(Account.login).where(Account.id == viewer.account_id).execution_options(**UNSCOPED)
    )
    return Actor(viewer.account_id, login or "", viewer.tree_path)


async def record(
    session: AsyncSession,
    viewer: Viewer,
    client_address: str | None,
    action: str,
    object_type: str,
    object_id: int | None,
    details: Mapping[str, AuditScalar] | None = None,
    *,
    subject_path: str | None = None,
) -> None:
    """Add an entry by the viewer to the caller's transaction: kept exactly when the change is.

    `details` holds field names and non-secret values only; callers pass e.g. which fields
    changed, never a password or a key. `subject_path` is the tree path of the object, so the
    subtree it lies in reads the entry whoever acted (the admin, say).
    """
    add_entry(
        session,
        await actor_of(session, viewer),
        client_address,
        action,
        (object_type, object_id, subject_path),
        details,
    )


def add_entry(
    session: AsyncSession,
    actor: Actor,
    client_address: str | None,
    action: str,
    subject: tuple[str, int | None, str | None],
    details: Mapping[str, AuditScalar] | None = None,
    admin_details: Mapping[str, AuditScalar] | None = None,
) -> None:
    """Add an entry to the caller's transaction; `subject` is (type, row id, tree path).

    `admin_details` are for the admin's eyes only (see `AuditEntry`).
    """
    object_type, object_id, subject_path = subject
    session.add(
        AuditEntry(
            at=utcnow(),
            actor_id=actor.account_id,
            actor_login=actor.login,
            actor_path=actor.tree_path,
            client_address=client_address,
            action=action,
            object_type=object_type,
            object_id=object_id,
            subject_path=subject_path,
            details=_json(details),
            admin_details=None if admin_details is None else _json(admin_details),
        )
    )


def _json(values: Mapping[str, AuditScalar] | None) -> str:
    return json.dumps(dict(values or {}), sort_keys=True)


async def list_audit_entries(
    session: AsyncSession,
    *,
    object_type: str | None,
    object_id: int | None,
    first: int | None,
    after: str | None,
) -> Page[AuditEntry]:
    """Entries, oldest first, optionally for one object.

    The session's tenant scope keeps those whose actor or subject lies in the viewer's subtree
    (all of them for the admin), for the page and its count alike.
    """
    statement = select(AuditEntry)
    if object_type is not None:
        statement = statement.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        statement = statement.where(AuditEntry.object_id == object_id)
    return await paginate(session, statement, AuditEntry.id, first, after)
