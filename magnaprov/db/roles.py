"""Roles of the account tree and the provisioning permission levels, as stored."""

from __future__ import annotations

import enum

__all__ = ["ProvisioningLevel", "Role", "child_role"]


class Role(enum.StrEnum):
    """Where an account stands in the tree: admin → provider → organization → user."""

    ADMIN = "ADMIN"
    PROVIDER = "PROVIDER"
    ORGANIZATION = "ORGANIZATION"
    USER = "USER"


_CHILD_ROLE: dict[Role, Role | None] = {
    Role.ADMIN: Role.PROVIDER,
    Role.PROVIDER: Role.ORGANIZATION,
    Role.ORGANIZATION: Role.USER,
    Role.USER: None,
}


def child_role(parent: Role) -> Role | None:
    """The role every child of `parent` has, or None when `parent` may have no children."""
    return _CHILD_ROLE[parent]


class ProvisioningLevel(enum.StrEnum):
    """ "Allow to provision devices": what an account may do with devices. Ordered."""

    NONE = "NONE"
    VIEW = "VIEW"
    MODIFY = "MODIFY"

    @property
    def rank(self) -> int:
        """Position in the order NONE < VIEW < MODIFY."""
        return _LEVEL_RANK[self]

    def cap(self, other: ProvisioningLevel) -> ProvisioningLevel:
        """The lower of the two levels."""
        return self if self.rank <= other.rank else other


_LEVEL_RANK = {ProvisioningLevel.NONE: 0, ProvisioningLevel.VIEW: 1, ProvisioningLevel.MODIFY: 2}
