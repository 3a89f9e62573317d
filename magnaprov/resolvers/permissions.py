"""Effective permissions of accounts, read from their ancestors in one query."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from magnaprov.db import UNSCOPED, Account
from magnaprov.tenancy.permissions import PermissionRow, Permissions, effective_permissions

__all__ = ["effective_permissions_for_paths"]


def _path_ids(tree_path: str) -> list[int]:
    return [int(part) for part in tree_path.strip("/").split("/")]


async def effective_permissions_for_paths(
    session: AsyncSession, tree_paths: Sequence[str]
) -> list[Permissions]:
    """Effective permissions of the accounts at `tree_paths`, in order, with one SELECT.

    Ancestors lie outside a viewer's scope, but their levels cap the viewer's own: this read is
    unscoped on purpose and returns only permission columns.
    """
    wanted = {account_id for path in tree_paths for account_id in _path_ids(path)}
    rows = await session.execute(
        select(Account.id, Account.role, Account.provisioning, Account.sip_management)
        .where(Account.id.in_(wanted))
        .execution_options(**UNSCOPED)
    )
    by_id = {row.id: PermissionRow(row.role, row.provisioning, row.sip_management) for row in rows}
    return [
        effective_permissions(by_id[account_id] for account_id in _path_ids(path))
        for path in tree_paths
    ]
