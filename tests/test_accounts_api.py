"""The account operations, each tried by anonymous, another tenant, a viewer without the
right and one with it."""

from __future__ import annotations

from typing import Any

import pytest
from account_tree import Member, build_tree

from magnaprov.schema.node import encode_global_id

CREATE = """
mutation($parentId: ID!, $login: String!, $provisioning: ProvisioningLevel, $sip: Boolean) {
  createAccount(parentId: $parentId, name: "New One", login: $login, password: "Correct-Horse-9",
                provisioning: $provisioning, sipManagement: $sip) {
    account { id role login code parent { login } }
    userErrors { field code message }
  }
}"""
UPDATE = """
mutation($id: ID!, $name: String, $password: String, $currentPassword: String, $email: String) {
  updateAccount(id: $id, name: $name, password: $password, currentPassword: $currentPassword,
                email: $email) {
    account { name email }
    userErrors { field code message }
  }
}"""
SET_PERMISSIONS = """
mutation($id: ID!, $provisioning: ProvisioningLevel, $sip: Boolean) {
  setAccountPermissions(id: $id, provisioning: $provisioning, sipManagement: $sip) {
    account { permissions { provisioning sipManagement } }
    userErrors { field code message }
  }
}"""
DELETE = """
mutation($id: ID!) { deleteAccount(id: $id) { deletedAccountId userErrors { field code message } } }
"""
ACCOUNT = (
    "query($id: ID!) { account(id: $id) { login } node(id: $id) { id ... on Account { login } } }"
)
ACCOUNTS = "query { accounts(first: 100) { totalCount nodes { login } } }"
VIEWER = "query { viewer { login role } }"


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


def codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


def unauthenticated(body: dict[str, Any]) -> bool:
    return any(e.get("extensions", {}).get("code") == "UNAUTHENTICATED" for e in body["errors"])


async def test_anonymous_viewer_is_null_and_protected_fields_need_a_token(gql, tree):
    assert (await gql(VIEWER))["data"] == {"viewer": None}
    for document, variables in [
        (ACCOUNTS, {}),
        (CREATE, {"parentId": tree["o1"].gid, "login": "x-anon"}),
        (UPDATE, {"id": tree["u1"].gid, "name": "x"}),
        (SET_PERMISSIONS, {"id": tree["u1"].gid, "provisioning": "VIEW"}),
        (DELETE, {"id": tree["u2"].gid}),
    ]:
        assert unauthenticated(await gql(document, variables)), document


async def test_anonymous_node_lookup_finds_nothing(gql, tree):
    body = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": tree["u1"].gid})
    assert body["data"] == {"node": None}


async def test_viewer_sees_itself_and_its_subtree_only(gql, tree):
    logins = {
        name: sorted(
            n["login"]
            for n in (await gql(ACCOUNTS, token=tree[name].token))["data"]["accounts"]["nodes"]
        )
        for name in ("admin", "p1", "o2", "u1")
    }
    assert logins["admin"] == sorted(tree)
    assert logins["p1"] == ["o1", "o2", "p1", "u1", "u2", "u3"]
    assert logins["o2"] == ["o2", "u3"]
    assert logins["u1"] == ["u1"]


async def test_other_tenant_account_reads_exactly_like_a_missing_one(gql, tree):
    foreign = await gql(ACCOUNT, {"id": tree["u4"].gid}, token=tree["p1"].token)
    missing = await gql(ACCOUNT, {"id": encode_global_id("Account", 99999)}, token=tree["p1"].token)
    assert foreign == missing == {"data": {"account": None, "node": None}}


async def test_viewer_sees_no_parent_above_itself(gql, tree):
    body = await gql("query { viewer { parent { login } } }", token=tree["o1"].token)
    assert body["data"]["viewer"]["parent"] is None


async def test_organization_creates_a_user_below_itself(gql, tree):
    body = await gql(
        CREATE, {"parentId": tree["o1"].gid, "login": "new.user"}, token=tree["o1"].token
    )
    payload = body["data"]["createAccount"]
    assert payload["userErrors"] == []
    assert payload["account"]["role"] == "USER"
    assert payload["account"]["parent"] == {"login": "o1"}


async def test_provider_creating_an_organization_gets_the_next_four_digit_code(gql, tree):
    body = await gql(
        CREATE, {"parentId": tree["p1"].gid, "login": "org.four"}, token=tree["p1"].token
    )
    account = body["data"]["createAccount"]["account"]
    assert account["role"] == "ORGANIZATION"
    assert account["code"] == "0004"  # o1, o2, o3 hold 0001-0003


async def test_other_tenant_cannot_create_under_a_foreign_parent(gql, tree):
    body = await gql(
        CREATE, {"parentId": tree["o3"].gid, "login": "intruder"}, token=tree["p1"].token
    )
    assert codes(body["data"]["createAccount"]) == [("parentId", "NOT_FOUND")]


async def test_user_cannot_have_children(gql, tree):
    body = await gql(
        CREATE, {"parentId": tree["u1"].gid, "login": "child.of.user"}, token=tree["u1"].token
    )
    assert codes(body["data"]["createAccount"]) == [("parentId", "INVALID")]


async def test_create_reports_every_input_problem_at_once(gql, tree):
    document = """mutation($p: ID!) { createAccount(parentId: $p, name: " ", login: "-",
      password: "short", email: "not-an-address") { account { id } userErrors { field code } } }"""
    body = await gql(document, {"p": tree["o1"].gid}, token=tree["o1"].token)
    payload = body["data"]["createAccount"]
    assert payload["account"] is None
    assert {error["field"] for error in payload["userErrors"]} == {
        "name",
        "login",
        "password",
        "email",
    }


async def test_logins_are_unique_regardless_of_case(gql, tree):
    body = await gql(CREATE, {"parentId": tree["o1"].gid, "login": "U3"}, token=tree["o1"].token)
    assert codes(body["data"]["createAccount"]) == [("login", "TAKEN")]


async def test_update_by_other_tenant_or_a_descendant_is_not_found(gql, tree):
    for actor, target in [("p2", "u1"), ("u1", "o1"), ("o2", "u1")]:
        body = await gql(
            UPDATE, {"id": tree[target].gid, "name": "Hijacked"}, token=tree[actor].token
        )
        assert codes(body["data"]["updateAccount"]) == [("id", "NOT_FOUND")], (actor, target)


async def test_ancestor_updates_an_account_below_it(gql, tree):
    body = await gql(
        UPDATE,
        {"id": tree["u1"].gid, "name": "Renamed", "email": "u1@example.com"},
        token=tree["p1"].token,
    )
    assert body["data"]["updateAccount"] == {
        "account": {"name": "Renamed", "email": "u1@example.com"},
        "userErrors": [],
    }


async def test_changing_your_own_password_needs_the_current_one(gql, tree):
    variables = {"id": tree["u1"].gid, "password": "Brand-New-Pass-7"}
    refused = await gql(UPDATE, variables, token=tree["u1"].token)
    assert codes(refused["data"]["updateAccount"]) == [("currentPassword", "INVALID_CREDENTIALS")]
    accepted = await gql(
        UPDATE, {**variables, "currentPassword": tree["u1"].password}, token=tree["u1"].token
    )
    assert accepted["data"]["updateAccount"]["userErrors"] == []
    login = await gql('mutation { login(login: "u1", password: "Brand-New-Pass-7") { token } }')
    assert login["data"]["login"]["token"]


async def test_set_permissions_needs_an_account_strictly_below(gql, tree):
    for actor, target in [("u1", "u1"), ("o1", "p1"), ("p2", "o1")]:
        body = await gql(
            SET_PERMISSIONS,
            {"id": tree[target].gid, "provisioning": "MODIFY"},
            token=tree[actor].token,
        )
        assert codes(body["data"]["setAccountPermissions"]) == [("id", "NOT_FOUND")], (
            actor,
            target,
        )


async def test_parent_sets_permissions_within_its_own(gql, tree):
    body = await gql(
        SET_PERMISSIONS,
        {"id": tree["u2"].gid, "provisioning": "VIEW", "sip": True},
        token=tree["o1"].token,
    )
    assert body["data"]["setAccountPermissions"] == {
        "account": {"permissions": {"provisioning": "VIEW", "sipManagement": True}},
        "userErrors": [],
    }


async def test_delete_is_refused_while_children_remain_and_allowed_after(gql, tree):
    refused = await gql(DELETE, {"id": tree["o2"].gid}, token=tree["p1"].token)
    assert codes(refused["data"]["deleteAccount"]) == [("id", "HAS_CHILDREN")]
    assert (await gql(DELETE, {"id": tree["u3"].gid}, token=tree["p1"].token))["data"][
        "deleteAccount"
    ]["userErrors"] == []
    done = await gql(DELETE, {"id": tree["o2"].gid}, token=tree["p1"].token)
    assert done["data"]["deleteAccount"] == {"deletedAccountId": tree["o2"].gid, "userErrors": []}


async def test_delete_by_other_tenant_or_self_is_not_found(gql, tree):
    for actor, target in [("p2", "u2"), ("u2", "u2"), ("o2", "u2")]:
        body = await gql(DELETE, {"id": tree[target].gid}, token=tree[actor].token)
        assert codes(body["data"]["deleteAccount"]) == [("id", "NOT_FOUND")], (actor, target)


async def test_deleted_account_token_stops_working(gql, tree):
    await gql(DELETE, {"id": tree["u2"].gid}, token=tree["o1"].token)
    assert (await gql(VIEWER, token=tree["u2"].token))["data"] == {"viewer": None}


async def test_viewer_can_manage_is_true_only_strictly_below(gql, tree):
    body = await gql(
        "query { accounts { nodes { login viewerCanManage } } }", token=tree["o1"].token
    )
    assert {n["login"]: n["viewerCanManage"] for n in body["data"]["accounts"]["nodes"]} == {
        "o1": False,
        "u1": True,
        "u2": True,
    }


async def test_accounts_filter_by_role_parent_and_search(gql, tree):
    document = """query($role: Role, $parent: ID, $search: String) {
      accounts(role: $role, parentId: $parent, search: $search) { nodes { login } } }"""

    async def logins(**variables: Any) -> list[str]:
        body = await gql(document, variables, token=tree["admin"].token)
        return sorted(node["login"] for node in body["data"]["accounts"]["nodes"])

    assert await logins(role="ORGANIZATION") == ["o1", "o2", "o3"]
    assert await logins(parent=tree["o1"].gid) == ["u1", "u2"]
    assert await logins(search="U") == ["u1", "u2", "u3", "u4"]
    assert await logins(search="%") == []


async def test_accounts_pages_with_cursors(gql, tree):
    document = "query($after: String) { accounts(first: 4, after: $after) { nodes { login } pageInfo { hasNextPage endCursor } } }"
    seen: list[str] = []
    after = None
    while True:
        body = (await gql(document, {"after": after}, token=tree["admin"].token))["data"][
            "accounts"
        ]
        seen += [node["login"] for node in body["nodes"]]
        if not body["pageInfo"]["hasNextPage"]:
            break
        after = body["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(tree)
    assert len(seen) == len(set(seen))


async def test_bad_cursor_and_page_size_are_clear_errors(gql, tree):
    body = await gql(
        'query { accounts(after: "garbage") { totalCount } }', token=tree["admin"].token
    )
    assert body["errors"][0]["message"].startswith("after:")
    body = await gql("query { accounts(first: 100000) { totalCount } }", token=tree["admin"].token)
    assert body["errors"][0]["message"].startswith("first:")
