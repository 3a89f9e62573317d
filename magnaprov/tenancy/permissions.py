"""Permission rules: effective levels, grant caps and who manages whom."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from magnaprov.db.roles import ProvisioningLevel, Role

__all__ = [
    "PermissionRow",
    "Permissions",
    "can_grant",
    "effective_permissions",
    "is_strict_ancestor",
    "is_within",
]


@dataclass(frozen=True, slots=True)
class Permissions:
    """The two permissions an account carries."""

    provisioning: ProvisioningLevel
    sip_management: bool


UNLIMITED = Permissions(ProvisioningLevel.MODIFY, sip_management=True)


@dataclass(frozen=True, slots=True)
class PermissionRow:
    """What the effective computation needs of one account of a chain."""

    role: Role
    provisioning: ProvisioningLevel
    sip_management: bool


def effective_permissions(chain: Iterable[PermissionRow]) -> Permissions:
    """The account's own values capped by every ancestor's; `chain` runs from root to account.

    The admin is unlimited and caps nothing, so lowering any other account lowers its whole
    subtree at once, without rewriting a row below it.
    """
    result = UNLIMITED
    for row in chain:
        if row.role is Role.ADMIN:
            continue
        result = Permissions(
            provisioning=result.provisioning.cap(row.provisioning),
            sip_management=result.sip_management and row.sip_management,
        )
    return result


def can_grant(granter: Permissions, granter_role: Role, wanted: Permissions) -> list[str]:
    """The fields of `wanted` that exceed what the granter may give (empty when all is allowed)."""
    if granter_role is Role.ADMIN:
        return []
    refused = []
    if wanted.provisioning.rank > granter.provisioning.rank:
        refused.append("provisioning")
    if wanted.sip_management and not granter.sip_management:
        refused.append("sipManagement")
    return refused


def is_within(path: str, scope: str) -> bool:
    """Whether the account at `path` is the one at `scope` or below it."""
    return path.startswith(scope)


def is_strict_ancestor(ancestor_path: str, path: str) -> bool:
    """Whether `ancestor_path` lies strictly above `path` in the tree."""
    return path != ancestor_path and path.startswith(ancestor_path)
