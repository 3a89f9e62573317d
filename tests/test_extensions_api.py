"""Extensions: numbering, the role matrix of every operation, and the confirmation flow."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from account_tree import Member, build_tree
from extension_fixtures import create_extension

UPDATE = """mutation($id: ID!, $name: String, $number: String, $provisioning: ProvisioningLevel, $chat: Boolean) {
  updateExtension(id: $id, name: $name, number: $number, provisioning: $provisioning, chatServerAccess: $chat) {
    extension { name number fullNumber provisioning chatServerAccess } userErrors { field code } } }"""
DELETE = "mutation($id: ID!) { deleteExtension(id: $id) { deletedExtensionId userErrors { field code } } }"
LIST = "query($account: ID, $search: String, $type: ExtensionType) { extensions(accountId: $account, search: $search, type: $type, first: 500) { totalCount nodes { fullNumber owner { login } } } }"
BY_ID = "query($id: ID!) { extension(id: $id) { fullNumber } node(id: $id) { id } }"
BY_NUMBER = "query($n: String!) { extension(number: $n) { fullNumber name } }"


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


def codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


async def test_first_extension_of_an_organization_is_001_with_the_spec_confirmation(gql, tree):
    payload = await create_extension(gql, tree["o1"].token, tree["u1"].gid, "John Smith")
    assert payload["userErrors"] == []
    assert payload["extension"]["fullNumber"] == "0001*001"
    assert payload["message"] == "Extension John Smith (0001*001) has been successfully added."
    assert payload["provisionNext"] is False


async def test_numbers_continue_after_the_highest_and_are_per_organization(gql, tree):
    await create_extension(gql, tree["o1"].token, tree["u1"].gid, number="041")
    second = await create_extension(gql, tree["o1"].token, tree["u2"].gid)
    assert second["extension"]["number"] == "042"
    other_org = await create_extension(gql, tree["p2"].token, tree["u4"].gid)
    assert other_org["extension"]["fullNumber"] == "0003*001"


async def test_a_taken_number_is_refused_by_name(gql, tree):
    await create_extension(gql, tree["o1"].token, tree["u1"].gid, number="007")
    again = await create_extension(gql, tree["o1"].token, tree["u2"].gid, number="007")
    assert codes(again) == [("number", "TAKEN")]


async def test_invalid_input_is_reported_for_every_field_at_once(gql, tree):
    payload = await create_extension(
        gql, tree["o1"].token, tree["u1"].gid, name=" ", number="1234", provisioning="MODIFY"
    )
    assert set(codes(payload)) == {("name", "REQUIRED"), ("number", "INVALID")}
    payload = await create_extension(gql, tree["o2"].token, tree["u3"].gid, provisioning="MODIFY")
    assert codes(payload) == [("provisioning", "GRANT_EXCEEDS_OWN")]


async def test_extensions_belong_to_user_accounts_only(gql, tree):
    payload = await create_extension(gql, tree["p1"].token, tree["o1"].gid)
    assert codes(payload) == [("ownerId", "INVALID")]


async def test_create_is_refused_for_anyone_not_above_the_owner(gql, tree):
    for actor in ("u1", "u2", "o2", "p2"):
        payload = await create_extension(gql, tree[actor].token, tree["u1"].gid)
        assert codes(payload) == [("ownerId", "NOT_FOUND")], actor


async def test_anonymous_callers_are_refused_everywhere(gql, tree):
    created = await create_extension(gql, tree["o1"].token, tree["u1"].gid)
    extension_id = created["extension"]["id"]
    for document, variables in [
        (LIST, {}),
        (BY_NUMBER, {"n": "0001*001"}),
        (UPDATE, {"id": extension_id, "name": "x"}),
        (DELETE, {"id": extension_id}),
        ("mutation { setProvisionNewExtensions(enabled: true) { enabled } }", {}),
    ]:
        body = await gql(document, variables)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await gql(BY_ID, {"id": extension_id}))["errors"][0]["extensions"][
        "code"
    ] == "UNAUTHENTICATED"


async def test_extension_reads_follow_the_tree(gql, tree):
    created = await create_extension(gql, tree["o1"].token, tree["u1"].gid)
    extension_id = created["extension"]["id"]
    for viewer, visible in [
        ("admin", True),
        ("p1", True),
        ("o1", True),
        ("u1", True),
        ("u2", False),
        ("o2", False),
        ("p2", False),
    ]:
        by_id = await gql(BY_ID, {"id": extension_id}, token=tree[viewer].token)
        by_number = await gql(BY_NUMBER, {"n": "0001*001"}, token=tree[viewer].token)
        assert (by_id["data"]["extension"] is not None) is visible, viewer
        assert (by_id["data"]["node"] is not None) is visible, viewer
        assert (by_number["data"]["extension"] is not None) is visible, viewer


async def test_extensions_list_filters_by_account_search_and_type(gql, tree):
    await create_extension(gql, tree["o1"].token, tree["u1"].gid, "Reception Desk")
    await create_extension(gql, tree["o1"].token, tree["u2"].gid, "Sales Queue", type_="QUEUE")
    await create_extension(gql, tree["p2"].token, tree["u4"].gid, "Other Tenant")

    async def numbers(token: str, **variables: Any) -> list[str]:
        body = await gql(LIST, variables, token=token)
        return sorted(node["fullNumber"] for node in body["data"]["extensions"]["nodes"])

    assert await numbers(tree["admin"].token) == ["0001*001", "0001*002", "0003*001"]
    assert await numbers(tree["p1"].token) == ["0001*001", "0001*002"]
    assert await numbers(tree["admin"].token, account=tree["u2"].gid) == ["0001*002"]
    assert await numbers(tree["admin"].token, search="desk") == ["0001*001"]
    assert await numbers(tree["admin"].token, search="0003*") == ["0003*001"]
    assert await numbers(tree["admin"].token, type="QUEUE") == ["0001*002"]
    assert await numbers(tree["p1"].token, account=tree["u4"].gid) == []  # outside: nothing


async def test_update_renames_renumbers_and_caps_the_provisioning_level(gql, tree):
    created = await create_extension(gql, tree["o1"].token, tree["u1"].gid)
    extension_id = created["extension"]["id"]
    body = await gql(
        UPDATE,
        {"id": extension_id, "name": "Front Desk", "number": "100", "chat": True},
        token=tree["o1"].token,
    )
    assert body["data"]["updateExtension"] == {
        "extension": {
            "name": "Front Desk",
            "number": "100",
            "fullNumber": "0001*100",
            "provisioning": "MODIFY",
            "chatServerAccess": True,
        },
        "userErrors": [],
    }
    await gql(
        "mutation($id: ID!) { setAccountPermissions(id: $id, provisioning: VIEW) { userErrors { code } } }",
        {"id": tree["o1"].gid},
        token=tree["p1"].token,
    )
    body = await gql(UPDATE, {"id": extension_id, "provisioning": "MODIFY"}, token=tree["o1"].token)
    assert codes(body["data"]["updateExtension"]) == [("provisioning", "GRANT_EXCEEDS_OWN")]


async def test_update_and_delete_need_an_account_above_the_owner(gql, tree):
    created = await create_extension(gql, tree["o1"].token, tree["u1"].gid)
    extension_id = created["extension"]["id"]
    for actor in ("u1", "u2", "o2", "p2"):
        updated = await gql(UPDATE, {"id": extension_id, "name": "Hijack"}, token=tree[actor].token)
        assert codes(updated["data"]["updateExtension"]) == [("id", "NOT_FOUND")], actor
        deleted = await gql(DELETE, {"id": extension_id}, token=tree[actor].token)
        assert codes(deleted["data"]["deleteExtension"]) == [("id", "NOT_FOUND")], actor
    deleted = await gql(DELETE, {"id": extension_id}, token=tree["p1"].token)
    assert deleted["data"]["deleteExtension"] == {
        "deletedExtensionId": extension_id,
        "userErrors": [],
    }
    assert (await gql(BY_ID, {"id": extension_id}, token=tree["admin"].token))["data"][
        "extension"
    ] is None


async def test_an_account_that_owns_extensions_cannot_be_deleted(gql, tree):
    await create_extension(gql, tree["o1"].token, tree["u1"].gid)
    body = await gql(
        "mutation($id: ID!) { deleteAccount(id: $id) { userErrors { field code message } } }",
        {"id": tree["u1"].gid},
        token=tree["o1"].token,
    )
    [error] = body["data"]["deleteAccount"]["userErrors"]
    assert error["code"] == "HAS_CHILDREN"
    assert "extension" in error["message"]


async def test_provision_next_follows_the_viewer_preference(gql, tree):
    body = await gql(
        "mutation { setProvisionNewExtensions(enabled: true) { enabled } }", token=tree["o1"].token
    )
    assert body["data"]["setProvisionNewExtensions"]["enabled"] is True
    payload = await create_extension(gql, tree["o1"].token, tree["u1"].gid)
    assert payload["provisionNext"] is True
    other = await create_extension(gql, tree["p1"].token, tree["u2"].gid)
    assert other["provisionNext"] is False
    viewer = await gql("query { viewer { provisionNewExtensions } }", token=tree["o1"].token)
    assert viewer["data"]["viewer"]["provisionNewExtensions"] is True


async def test_concurrent_creates_of_one_number_have_exactly_one_winner(gql, tree):
    results = await asyncio.gather(
        *(
            create_extension(gql, tree["o1"].token, tree[owner].gid, number="055")
            for owner in ("u1", "u2", "u1", "u2")
        )
    )
    winners = [r for r in results if r["extension"] is not None]
    losers = [r for r in results if r["extension"] is None]
    assert len(winners) == 1
    assert all(codes(r) == [("number", "TAKEN")] for r in losers)


async def test_concurrent_automatic_numbers_are_all_distinct(gql, tree):
    results = await asyncio.gather(
        *(create_extension(gql, tree["o1"].token, tree["u1"].gid, f"Line {n}") for n in range(8))
    )
    numbers = [r["extension"]["number"] for r in results]
    assert all(r["userErrors"] == [] for r in results)
    assert sorted(numbers) == [f"{n:03d}" for n in range(1, 9)]
