"""Builds account trees for tests through the real use cases, and logs each account in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from magnaprov.db import Account, ProvisioningLevel, Role, set_tree_scope
from magnaprov.resolvers import RequestDatabase, Services
from magnaprov.resolvers.accounts import NewAccount, create_account
from magnaprov.resolvers.auth import login
from magnaprov.resolvers.bootstrap import ensure_admin
from magnaprov.schema.node import encode_global_id
from magnaprov.tenancy import Permissions, Viewer

ADMIN_PASSWORD = "Root-Secret-42"
L = ProvisioningLevel


@dataclass(frozen=True)
class Member:
    """An account of a test tree, with a live session token."""

    id: int
    login: str
    password: str
    token: str
    tree_path: str
    role: Role

    @property
    def gid(self) -> str:
        """Its global ID."""
        return encode_global_id("Account", self.id)


# (parent, login, provisioning, SIP management): the tree most role matrices use.
STANDARD_TREE: list[tuple[str, str, ProvisioningLevel, bool]] = [
    ("admin", "p1", L.MODIFY, True),
    ("admin", "p2", L.MODIFY, True),
    ("p1", "o1", L.MODIFY, True),
    ("p1", "o2", L.VIEW, False),
    ("p2", "o3", L.MODIFY, True),
    ("o1", "u1", L.MODIFY, True),
    ("o1", "u2", L.NONE, False),
    ("o2", "u3", L.VIEW, False),
    ("o3", "u4", L.MODIFY, True),
]


async def build_tree(
    session_factory: Any,
    services: Services,
    spec: list[tuple[str, str, ProvisioningLevel, bool]] = STANDARD_TREE,
) -> dict[str, Member]:
    """The admin plus the accounts of `spec`, each logged in."""
    async with session_factory() as session:
        await ensure_admin(session, services, ADMIN_PASSWORD)
    members = {"admin": await _log_in(session_factory, services, "admin", ADMIN_PASSWORD)}
    admin = members["admin"]
    viewer = Viewer(admin.id, Role.ADMIN, admin.tree_path, Permissions(L.MODIFY, True), 0)
    async with session_factory() as session:
        set_tree_scope(session.sync_session, admin.tree_path)
        db = RequestDatabase(session)
        for index, (parent, login_name, level, sip) in enumerate(spec):
            password = f"Zq9!{index:03d}Kw#pass"
            new = NewAccount(
                members[parent].id, login_name.upper(), login_name, password, None, level, sip
            )
            account, problems = await create_account(db, services, viewer, new)
            assert account is not None, problems.errors
            members[login_name] = Member(
                account.id, login_name, password, "", account.tree_path, account.role
            )
    for name, member in list(members.items()):
        if name != "admin":
            members[name] = await _log_in(session_factory, services, name, member.password)
    return members


async def _log_in(
    session_factory: Any, services: Services, login_name: str, password: str
) -> Member:
    async with session_factory() as session:
        issued, problems = await login(RequestDatabase(session), services, login_name, password)
        assert issued is not None, problems.errors
        account = await session.get(Account, issued.row.account_id)
        assert account is not None
        return Member(
            account.id, login_name, password, issued.token, account.tree_path, account.role
        )
