"""Effective permissions and grant caps, as pure rules."""

from __future__ import annotations

from magnaprov.db import ProvisioningLevel as L
from magnaprov.db import Role
from magnaprov.tenancy import PermissionRow, Permissions, can_grant, effective_permissions


def row(role: Role, level: L, sip: bool) -> PermissionRow:
    return PermissionRow(role, level, sip)


def test_admin_caps_nothing_and_is_unlimited():
    assert effective_permissions([row(Role.ADMIN, L.NONE, False)]) == Permissions(L.MODIFY, True)


def test_effective_level_is_the_lowest_along_the_chain():
    chain = [
        row(Role.ADMIN, L.MODIFY, True),
        row(Role.PROVIDER, L.VIEW, True),
        row(Role.ORGANIZATION, L.MODIFY, False),
        row(Role.USER, L.MODIFY, True),
    ]
    assert effective_permissions(chain) == Permissions(L.VIEW, False)


def test_admin_may_grant_anything():
    assert can_grant(Permissions(L.NONE, False), Role.ADMIN, Permissions(L.MODIFY, True)) == []


def test_grant_above_own_level_is_refused_per_field():
    granter = Permissions(L.VIEW, False)
    assert can_grant(granter, Role.PROVIDER, Permissions(L.MODIFY, True)) == [
        "provisioning",
        "sipManagement",
    ]
    assert can_grant(granter, Role.PROVIDER, Permissions(L.VIEW, False)) == []
