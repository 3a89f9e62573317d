"""auditLog per role: each viewer reads its subtree's entries, counts them, pages to the end."""

from __future__ import annotations

import json
from typing import Any

import pytest
from account_tree import Member, build_tree
from device_fixtures import provision
from extension_fixtures import create_extension

PAGE = """query($first: Int, $after: String) {
  auditLog(objectType: "device", first: $first, after: $after) {
    totalCount nodes { action actorLogin details }
    pageInfo { hasNextPage endCursor } } }"""
ROTATE = "mutation($id: ID!) { rotateDeviceKey(deviceId: $id) { userErrors { code } } }"


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


@pytest.fixture
async def audited(gql, tree) -> None:
    """Device entries: o1 provisions in o1, p1 in o2, p2 in o3, the admin rotates o3's key."""
    for actor, owner, mac in [
        ("o1", "u1", "00:15:65:AA:00:01"),
        ("p1", "u3", "00:15:65:AA:00:02"),
        ("p2", "u4", "00:15:65:AA:00:03"),
    ]:
        extension = await create_extension(gql, tree[actor].token, tree[owner].gid, f"Ph {owner}")
        payload = await provision(gql, tree[actor].token, extension["extension"]["id"], mac)
        assert payload["userErrors"] == []
    rotated = await gql(ROTATE, {"id": payload["device"]["id"]}, token=tree["admin"].token)
    assert rotated["data"]["rotateDeviceKey"]["userErrors"] == []


async def read_to_the_end(gql, token: str) -> tuple[list[dict[str, Any]], int]:
    """Every entry, one per page, following endCursor until hasNextPage is false."""
    entries: list[dict[str, Any]] = []
    after = None
    for _ in range(10):
        body = await gql(PAGE, {"first": 1, "after": after}, token=token)
        log = body["data"]["auditLog"]
        entries += log["nodes"]
        if not log["pageInfo"]["hasNextPage"]:
            return entries, log["totalCount"]
        assert log["pageInfo"]["endCursor"] is not None, "hasNextPage without a cursor"
        after = log["pageInfo"]["endCursor"]
    raise AssertionError("paging did not reach the end")


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("admin", {"0001*001", "0002*001", "0003*001", "rotate 0003"}),
        ("p1", {"0001*001", "0002*001"}),
        ("p2", {"0003*001", "rotate 0003"}),
        ("o1", {"0001*001"}),
        ("o2", {"0002*001"}),
        ("o3", {"0003*001", "rotate 0003"}),
        ("u1", {"0001*001"}),
        ("u2", set()),
        ("u3", {"0002*001"}),
        ("u4", {"0003*001", "rotate 0003"}),
    ],
)
async def test_each_role_reads_and_counts_its_subtree_entries_and_pages_to_the_end(
    gql, tree, audited, viewer, expected
):
    entries, total = await read_to_the_end(gql, tree[viewer].token)
    seen = {
        "rotate 0003"
        if e["action"] == "device.rotate_key"
        else json.loads(e["details"])["extension"]
        for e in entries
    }
    assert seen == expected
    assert total == len(entries) == len(expected)


async def test_a_provider_sees_what_the_admin_did_in_its_subtree_but_not_in_a_siblings(
    gql, tree, audited
):
    mine, _ = await read_to_the_end(gql, tree["p2"].token)
    assert {(e["action"], e["actorLogin"]) for e in mine} == {
        ("device.create", "p2"),
        ("device.rotate_key", "admin"),
    }
    sibling, _ = await read_to_the_end(gql, tree["p1"].token)
    assert all(e["actorLogin"] != "p2" for e in sibling)
    assert all(e["action"] != "device.rotate_key" for e in sibling)


async def test_an_empty_first_page_keeps_its_place(gql, tree, audited):
    body = await gql(PAGE, {"first": 0}, token=tree["p1"].token)
    info = body["data"]["auditLog"]["pageInfo"]
    assert info["hasNextPage"] is True
    rest = await gql(PAGE, {"first": 10, "after": info["endCursor"]}, token=tree["p1"].token)
    assert len(rest["data"]["auditLog"]["nodes"]) == 2
