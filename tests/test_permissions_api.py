"""Grant caps and effective permissions through the API, including lowering a parent."""

from __future__ import annotations

from typing import Any

import pytest
from account_tree import Member, build_tree

SET = """mutation($id: ID!, $provisioning: ProvisioningLevel, $sip: Boolean) {
  setAccountPermissions(id: $id, provisioning: $provisioning, sipManagement: $sip) {
    userErrors { field code } } }"""
EFFECTIVE = (
    "query { accounts { nodes { login effectivePermissions { provisioning sipManagement } } } }"
)


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


async def effective(gql, token: str) -> dict[str, tuple[str, bool]]:
    body = await gql(EFFECTIVE, token=token)
    return {
        n["login"]: (
            n["effectivePermissions"]["provisioning"],
            n["effectivePermissions"]["sipManagement"],
        )
        for n in body["data"]["accounts"]["nodes"]
    }


async def test_parent_with_view_cannot_grant_modify(gql, tree):
    body = await gql(SET, {"id": tree["u3"].gid, "provisioning": "MODIFY"}, token=tree["o2"].token)
    assert body["data"]["setAccountPermissions"]["userErrors"] == [
        {"field": "provisioning", "code": "GRANT_EXCEEDS_OWN"}
    ]


async def test_parent_without_sip_management_cannot_grant_it(gql, tree):
    body = await gql(SET, {"id": tree["u3"].gid, "sip": True}, token=tree["o2"].token)
    assert body["data"]["setAccountPermissions"]["userErrors"] == [
        {"field": "sipManagement", "code": "GRANT_EXCEEDS_OWN"}
    ]


async def test_admin_grants_any_level(gql, tree):
    body = await gql(
        SET,
        {"id": tree["u3"].gid, "provisioning": "MODIFY", "sip": True},
        token=tree["admin"].token,
    )
    assert body["data"]["setAccountPermissions"]["userErrors"] == []


async def test_effective_permission_is_own_capped_by_ancestors(gql, tree):
    seen = await effective(gql, tree["admin"].token)
    assert seen["u1"] == ("MODIFY", True)
    assert seen["u3"] == ("VIEW", False)  # o2 holds VIEW without SIP management
    assert seen["admin"] == ("MODIFY", True)


async def test_lowering_a_parent_lowers_its_whole_subtree_at_once(gql, tree):
    await gql(
        SET, {"id": tree["p1"].gid, "provisioning": "NONE", "sip": False}, token=tree["admin"].token
    )
    seen = await effective(gql, tree["admin"].token)
    for login in ("p1", "o1", "o2", "u1", "u2", "u3"):
        assert seen[login] == ("NONE", False), login
    assert seen["u4"] == ("MODIFY", True)  # the other provider's branch is untouched
    own = await gql("query { viewer { permissions { provisioning } } }", token=tree["u1"].token)
    assert own["data"]["viewer"]["permissions"]["provisioning"] == "MODIFY"  # stored value kept


async def test_a_lowered_parent_can_no_longer_grant_what_it_lost(gql, tree):
    await gql(SET, {"id": tree["o1"].gid, "provisioning": "VIEW"}, token=tree["p1"].token)
    body = await gql(SET, {"id": tree["u2"].gid, "provisioning": "MODIFY"}, token=tree["o1"].token)
    assert body["data"]["setAccountPermissions"]["userErrors"] == [
        {"field": "provisioning", "code": "GRANT_EXCEEDS_OWN"}
    ]


async def test_create_account_caps_the_initial_grant(gql, tree):
    document = """mutation($p: ID!) { createAccount(parentId: $p, name: "N", login: "capped",
      password: "Correct-Horse-9", provisioning: MODIFY) { account { id } userErrors { field code } } }"""
    body = await gql(document, {"p": tree["o2"].gid}, token=tree["o2"].token)
    assert body["data"]["createAccount"] == {
        "account": None,
        "userErrors": [{"field": "provisioning", "code": "GRANT_EXCEEDS_OWN"}],
    }
