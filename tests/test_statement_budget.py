"""Listing accounts costs a constant number of SQL statements, however many there are."""

from __future__ import annotations

from typing import Any

from account_tree import build_tree
from conftest import wipe

from magnaprov.db import ProvisioningLevel as L

LIST = """query { accounts(first: 500) { totalCount edges { node {
  login role code parent { login role } permissions { provisioning sipManagement }
  effectivePermissions { provisioning sipManagement } viewerCanManage } } } }"""


def wide_tree(users: int) -> list[tuple[str, str, L, bool]]:
    spec = [
        ("admin", "prov", L.MODIFY, True),
        ("prov", "org1", L.MODIFY, True),
        ("prov", "org2", L.VIEW, False),
    ]
    spec += [(f"org{1 + n % 2}", f"user{n}", L.VIEW, n % 3 == 0) for n in range(users)]
    return spec


async def statements_for_listing(
    engine, session_factory: Any, services: Any, gql, count_statements, users: int
) -> int:
    members = await build_tree(session_factory, services, wide_tree(users))
    with count_statements as counter:
        body = await gql(LIST, token=members["admin"].token)
    assert "errors" not in body
    assert body["data"]["accounts"]["totalCount"] == users + 4
    return counter.count


async def test_listing_200_accounts_costs_as_many_statements_as_listing_10(
    engine, session_factory, services, gql, count_statements
):
    small = await statements_for_listing(
        engine, session_factory, services, gql, count_statements, 10
    )
    await wipe(engine)
    large = await statements_for_listing(
        engine, session_factory, services, gql, count_statements, 200
    )
    assert large == small
    assert large <= 8


EXTENSIONS = """query { extensions(first: 500) { totalCount nodes {
  fullNumber name owner { login effectivePermissions { provisioning } } organization { code }
  sipPreferences { sipAccess codecs } viewerCanModify } } }"""


async def add_extensions(session_factory, members, count: int) -> None:
    """Insert `count` phone extensions spread over the users, directly (arrangement only)."""
    from sqlalchemy import select

    from magnaprov.db import Account, Extension, ExtensionType, ProvisioningLevel, SipPreferences

    async with session_factory() as session:
        users = [m for name, m in members.items() if name.startswith("user")]
        organizations = {
            a.id: a for a in await session.scalars(select(Account).where(Account.code.is_not(None)))
        }
        for n in range(count):
            user = await session.get(Account, users[n % len(users)].id)
            organization = organizations[user.parent_id]
            extension = Extension(
                owner_id=user.id,
                organization_id=organization.id,
                tree_path=user.tree_path,
                type=ExtensionType.PHONE_TERMINAL,
                name=f"Line {n}",
                number=f"{n + 1:03d}",
                full_number=f"{organization.code}*{n + 1:03d}",
                provisioning=ProvisioningLevel.VIEW,
            )
            session.add(extension)
            await session.flush()
            session.add(SipPreferences(extension_id=extension.id))
        await session.commit()


async def statements_for_extensions(
    session_factory, services, gql, count_statements, count: int
) -> int:
    members = await build_tree(session_factory, services, wide_tree(10))
    await add_extensions(session_factory, members, count)
    with count_statements as counter:
        body = await gql(EXTENSIONS, token=members["admin"].token)
    assert "errors" not in body, body["errors"]
    assert body["data"]["extensions"]["totalCount"] == count
    return counter.count


async def test_listing_500_extensions_with_owners_costs_as_many_statements_as_listing_5(
    engine, session_factory, services, gql, count_statements
):
    small = await statements_for_extensions(session_factory, services, gql, count_statements, 5)
    await wipe(engine)
    large = await statements_for_extensions(session_factory, services, gql, count_statements, 500)
    assert large == small
    assert large <= 9
