"""For every random tree and viewer: lists return exactly the viewer's subtree, and every
mutation aimed outside it fails as "not found"."""

from __future__ import annotations

from typing import Any

from account_tree import build_tree
from conftest import wipe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from magnaprov.db import ProvisioningLevel as L

ROLE_DEPTH = {0: "p", 1: "o", 2: "u"}


@st.composite
def trees(draw: st.DrawFn) -> list[tuple[str, str, L, bool]]:
    """Random trees of providers, organizations and users, with random permissions."""
    spec: list[tuple[str, str, L, bool]] = []
    frontier = [("admin", -1)]
    count = draw(st.integers(min_value=1, max_value=9))
    for index in range(count):
        parent, depth = draw(st.sampled_from([f for f in frontier if f[1] < 2]))
        login = f"{ROLE_DEPTH[depth + 1]}{index}"
        level = draw(st.sampled_from(list(L)))
        spec.append((parent, login, level, draw(st.booleans())))
        frontier.append((login, depth + 1))
    return spec


def subtree(spec: list[tuple[str, str, L, bool]], root: str) -> set[str]:
    children: dict[str, list[str]] = {}
    for parent, login, _, _ in spec:
        children.setdefault(parent, []).append(login)
    found, stack = set(), [root]
    while stack:
        login = stack.pop()
        found.add(login)
        stack.extend(children.get(login, []))
    return found


MUTATIONS = [
    (
        'mutation($id: ID!) { updateAccount(id: $id, name: "X") { userErrors { field code } } }',
        "updateAccount",
    ),
    (
        "mutation($id: ID!) { setAccountPermissions(id: $id, provisioning: NONE) { userErrors { field code } } }",
        "setAccountPermissions",
    ),
    (
        "mutation($id: ID!) { deleteAccount(id: $id) { userErrors { field code } } }",
        "deleteAccount",
    ),
    (
        'mutation($id: ID!) { createAccount(parentId: $id, name: "N", login: "zz-new", password: "Correct-Horse-9") '
        "{ userErrors { field code } } }",
        "createAccount",
    ),
]


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec=trees(), data=st.data())
async def test_every_list_is_the_viewer_subtree_and_outside_is_not_found(
    spec, data, engine, session_factory: Any, services: Any, gql
):
    await wipe(engine)
    members = await build_tree(session_factory, services, spec)
    viewer = data.draw(st.sampled_from(sorted(members)))
    visible = subtree(spec, viewer)
    body = await gql(
        "query { accounts(first: 500) { totalCount nodes { login } } }", token=members[viewer].token
    )
    listed = {node["login"] for node in body["data"]["accounts"]["nodes"]}
    assert listed == visible
    assert body["data"]["accounts"]["totalCount"] == len(visible)
    for outsider in sorted(set(members) - visible):
        for document, field in MUTATIONS:
            answer = await gql(document, {"id": members[outsider].gid}, token=members[viewer].token)
            errors = answer["data"][field]["userErrors"]
            assert [e["code"] for e in errors] == ["NOT_FOUND"], (viewer, outsider, field, errors)
        seen = await gql(
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": members[outsider].gid},
            token=members[viewer].token,
        )
        assert seen["data"]["node"] is None
