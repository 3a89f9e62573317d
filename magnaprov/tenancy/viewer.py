"""Who is calling: resolved once per request from the bearer token."""

from __future__ import annotations

from dataclasses import dataclass

from magnaprov.db.roles import Role
from magnaprov.tenancy.permissions import Permissions, is_strict_ancestor, is_within

__all__ = ["Viewer"]


@dataclass(frozen=True, slots=True)
class Viewer:
    """The authenticated account behind a request, with its effective permissions."""

    account_id: int
    role: Role
    tree_path: str
    permissions: Permissions
    token_id: int

    @property
    def is_admin(self) -> bool:
        """Whether the viewer is the root of the tree."""
        return self.role is Role.ADMIN

    @property
    def spans_tenants(self) -> bool:
        """Whether the viewer stands above every tenant: reads both sides of a conflict between
        tenants in the audit (who holds a MAC, who tried to claim it), is never throttled for
        meeting MACs in use, and may release a MAC. The admin alone."""
        return self.is_admin

    def sees(self, path: str) -> bool:
        """Whether the account at `path` is the viewer or one of its descendants."""
        return is_within(path, self.tree_path)

    def manages(self, path: str) -> bool:
        """Whether the account at `path` is strictly below the viewer."""
        return is_strict_ancestor(self.tree_path, path)
