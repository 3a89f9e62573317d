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
