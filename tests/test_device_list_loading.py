"""A device list whose selection reads only columns loads just those, with the same answers.

`devices` builds its objects from rows of the selected columns when it can (schema/row_objects.py)
and from whole ORM rows otherwise; selecting one field that is not a column (`lastContact`)
forces the second way, so each viewer's two answers must agree field for field.
"""

from __future__ import annotations

from typing import Any

import pytest
from account_tree import Member, build_tree
from device_fixtures import provision
from extension_fixtures import create_extension

COLUMNS = """id friendlyName manufacturer model firmware applicationVersion mac
  useMacBasedProvisioning fileGenerationEnabled notes adminUsername passwordGeneration
  updateInterval updateProtocol templateId templateName viewerProvisioning createdAt updatedAt
  __typename
  extension { id type name number fullNumber provisioning chatServerAccess createdAt
    owner { id role name login code email createdAt } }"""
LIST = """query($first: Int, $after: String, $search: String) {
  devices(first: $first, after: $after, search: $search) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { ...Columns %s } } nodes { mac ... on Device { friendlyName } } } }
fragment Columns on Device { %s }"""
COLUMNS_ONLY = LIST % ("", COLUMNS)
WITH_LAST_CONTACT = LIST % ("lastContact { at }", COLUMNS)
CREATE_TEMPLATE = """mutation($name: String!, $owner: ID) {
  createProvisioningTemplate(name: $name, ownerId: $owner) {
    provisioningTemplate { id } userErrors { code } } }"""
SET_FILE = """mutation($template: ID!) {
  setTemplateFile(templateId: $template, manufacturer: "yealink", model: "T46S", firmware: "V81",
                  fileName: "{mac}.cfg", source: "#!version:1.0.0.1") { userErrors { code } } }"""
VIEWERS = ["admin", "p1", "p2", "o1", "o2", "o3", "u1", "u3", "u4"]


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


@pytest.fixture
async def fleet(gql, tree) -> str:
    """Devices in o1 (on p1's template), o2 and o3 (Server default); the template's name."""
    created = await gql(
        CREATE_TEMPLATE,
        {"name": "Provider desk phones", "owner": tree["p1"].gid},
        token=tree["admin"].token,
    )
    template = created["data"]["createProvisioningTemplate"]["provisioningTemplate"]["id"]
    with_file = await gql(SET_FILE, {"template": template}, token=tree["admin"].token)
    assert with_file["data"]["setTemplateFile"]["userErrors"] == [], with_file
    for number, (actor, owner, extra) in enumerate(
        [("o1", "u1", {"template": template}), ("p1", "u3", {}), ("o3", "u4", {"notes": "Lobby"})]
    ):
        extension = await create_extension(
            gql, tree[actor].token, tree[owner].gid, f"Phone {number}"
        )
        mac = f"00:15:65:AA:BB:{number:02X}"
        # p1 picks its own template; the admin provisions the others.
        provisioner = tree["p1" if "template" in extra else "admin"].token
        payload = await provision(gql, provisioner, extension["extension"]["id"], mac, **extra)
        assert payload["userErrors"] == [], payload
    return "Provider desk phones"


async def test_column_lists_answer_as_full_rows_do_for_every_viewer(
    gql, tree, fleet, count_statements
):
    for viewer in VIEWERS:
        with count_statements as counter:
            columns = await gql(COLUMNS_ONLY, {"first": 10}, token=tree[viewer].token)
        columns_statements = counter.count
        with count_statements as counter:
            rows = await gql(WITH_LAST_CONTACT, {"first": 10}, token=tree[viewer].token)
        rows_statements = counter.count
        assert "errors" not in columns and "errors" not in rows, (viewer, columns, rows)
        for edge in rows["data"]["devices"]["edges"]:
            assert edge["node"].pop("lastContact") is None
        assert columns == rows, viewer
        # Extensions, owners and template names came with the page: fewer statements.
        assert columns_statements < rows_statements, viewer


async def test_a_user_sees_the_name_of_a_template_owned_above_it(gql, tree, fleet):
    body = await gql(
        "query { devices { nodes { templateName extension { owner { login } } } } }",
        token=tree["u1"].token,
    )
    assert body["data"]["devices"]["nodes"] == [
        {"templateName": fleet, "extension": {"owner": {"login": "u1"}}}
    ]


async def test_search_and_cursors_page_the_column_list(gql, tree, fleet):
    admin = tree["admin"].token
    first = await gql(COLUMNS_ONLY, {"first": 2}, token=admin)
    page = first["data"]["devices"]
    assert [edge["node"]["mac"] for edge in page["edges"]] == [
        "00:15:65:AA:BB:00",
        "00:15:65:AA:BB:01",
    ]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await gql(
        COLUMNS_ONLY, {"first": 2, "after": page["pageInfo"]["endCursor"]}, token=admin
    )
    assert [node["mac"] for node in rest["data"]["devices"]["nodes"]] == ["00:15:65:AA:BB:02"]
    nothing = await gql(COLUMNS_ONLY, {"search": "no such phone"}, token=admin)
    lobby = await gql(COLUMNS_ONLY, {"search": "bb:02"}, token=admin)
    assert nothing["data"]["devices"]["totalCount"] == 0
    assert [node["notes"] for node in _nodes(lobby)] == ["Lobby"]
    assert _nodes(first)[0]["templateName"] == fleet
    assert _nodes(first)[1]["templateName"] == "Server default"


def _nodes(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in body["data"]["devices"]["edges"]]


async def test_only_viewers_below_the_root_have_their_reads_narrowed(gql, tree, fleet, engine):
    from sqlalchemy import event

    statements: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        for viewer in ("admin", "o1"):
            statements.clear()
            body = await gql("query { devices { nodes { mac } } }", token=tree[viewer].token)
            assert "errors" not in body, body
            [page] = [sql for sql in statements if "FROM device" in sql]
            # The admin is the root: its subtree is every row, so no criterion at all.
            assert ("tree_path LIKE" in page) is (viewer != "admin"), (viewer, page)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)


@pytest.mark.parametrize(
    "selection",
    [
        "nodes { __typename }",
        "edges { cursor }",
        "totalCount pageInfo { endCursor }",
        "nodes { extension { __typename } templateName templateName2: templateName }",
    ],
)
@pytest.mark.parametrize("first", [0, 2, None])
async def test_odd_selections_answer_as_full_rows_do(gql, tree, fleet, selection, first):
    def query(fields: str) -> str:
        return f"query($first: Int) {{ devices(first: $first) {{ {fields} }} }}"

    # An aliased `nodes` reading a field that is not a column forces the full-row way.
    forced = f"{selection} forced: nodes {{ lastContact {{ at }} }}"
    token = tree["o1"].token
    columns = await gql(query(selection), {"first": first}, token=token)
    rows = await gql(query(forced), {"first": first}, token=token)
    assert "errors" not in columns and "errors" not in rows, (columns, rows)
    rows["data"]["devices"].pop("forced")
    assert columns == rows


async def test_a_page_over_the_limit_is_refused_in_both_ways(gql, tree, fleet):
    for selection in ("nodes { mac }", "nodes { mac lastContact { at } }"):
        query = f"query {{ devices(first: 1001) {{ {selection} }} }}"
        body = await gql(query, token=tree["admin"].token)
        assert body["data"] is None
        assert body["errors"][0]["message"] == "first: must be between 0 and 1000."
