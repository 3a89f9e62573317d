"""Provisioning templates: who sees, chooses and changes which template; files checked on save,
devices re-rendered, previews that write nothing."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from account_tree import Member, build_tree
from conftest import wipe
from extension_fixtures import create_extension
from sqlalchemy import func, select
from stored_files import file_plaintext

from magnaprov.db import (
    AuditEntry,
    Device,
    ProvisioningLevel,
    ProvisioningTemplate,
    RenderedFile,
    TemplateFile,
    UpdateProtocol,
    set_tree_scope,
)
from magnaprov.resolvers.rendering import render_devices
from magnaprov.resolvers.templates import may_choose_template
from magnaprov.schema.node import decode_id, encode_global_id
from magnaprov.tenancy import Permissions, Viewer

SERVER_DEFAULT = encode_global_id("ProvisioningTemplate", 0)
YEALINK = {"manufacturer": "yealink", "model": "T46S", "firmware": "V81"}
DEVICE_FILE = {**YEALINK, "fileName": "{mac}.cfg"}
OVERRIDE = """{% extends server_default %}
{% block time %}
local_time.ntp_server1 = ntp.customer.example
local_time.time_zone = {{ time.offset_hours }}
{% endblock %}
"""

CREATE = """mutation($name: String!, $description: String, $owner: ID) {
  createProvisioningTemplate(name: $name, description: $description, ownerId: $owner) {
    provisioningTemplate { id name description isServerDefault viewerCanModify owner { login } }
    userErrors { field code message } } }"""
UPDATE = """mutation($id: ID!, $name: String, $description: String) {
  updateProvisioningTemplate(id: $id, name: $name, description: $description) {
    provisioningTemplate { name description } userErrors { field code message } } }"""
DELETE = """mutation($id: ID!) { deleteProvisioningTemplate(id: $id) {
  deletedProvisioningTemplateId userErrors { field code message } } }"""
SET_FILE = """mutation($template: ID!, $manufacturer: String!, $model: String!, $firmware: String!,
                      $fileName: String!, $source: String!) {
  setTemplateFile(templateId: $template, manufacturer: $manufacturer, model: $model,
                  firmware: $firmware, fileName: $fileName, source: $source) {
    provisioningTemplate { name updatedAt equipment { manufacturer model firmware }
                           files { fileName source } }
    templateFile { id manufacturer model firmware fileName source updatedAt }
    regeneratedDevices failedDevices userErrors { field code message } } }"""
DELETE_FILE = """mutation($template: ID!, $manufacturer: String!, $model: String!,
                         $firmware: String!, $fileName: String!) {
  deleteTemplateFile(templateId: $template, manufacturer: $manufacturer, model: $model,
                     firmware: $firmware, fileName: $fileName) {
    provisioningTemplate { files { fileName } } regeneratedDevices failedDevices
    userErrors { field code message } } }"""
PREVIEW = """mutation($template: ID, $manufacturer: String!, $model: String!, $firmware: String!,
                     $fileName: String!, $source: String, $device: ID) {
  previewProvisioningFile(templateId: $template, manufacturer: $manufacturer, model: $model,
                          firmware: $firmware, fileName: $fileName, source: $source,
                          deviceId: $device) {
    fileName content userErrors { field code message } } }"""
LIST = """query($manufacturer: String, $model: String, $firmware: String, $first: Int, $after: String) {
  provisioningTemplates(manufacturer: $manufacturer, model: $model, firmware: $firmware,
                        first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id name isServerDefault viewerCanModify deviceCount } } }"""
BY_ID = """query($id: ID!) {
  provisioningTemplate(id: $id) { id name viewerCanModify }
  node(id: $id) { id } }"""


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


def codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


async def create_template(
    gql: Any, actor: Member, name: str, owner: Member | None = None, **extra: Any
) -> dict[str, Any]:
    variables = {"name": name, "owner": None if owner is None else owner.gid, **extra}
    body = await gql(CREATE, variables, token=actor.token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["createProvisioningTemplate"]
    return payload


async def new_template_id(gql: Any, actor: Member, name: str, owner: Member | None = None) -> str:
    payload = await create_template(gql, actor, name, owner)
    assert payload["userErrors"] == [], payload
    template_id: str = payload["provisioningTemplate"]["id"]
    return template_id


async def set_file(
    gql: Any, actor: Member, template_id: str, source: str, **file: str
) -> dict[str, Any]:
    variables = {"template": template_id, **DEVICE_FILE, **file, "source": source}
    body = await gql(SET_FILE, variables, token=actor.token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["setTemplateFile"]
    return payload


async def listed(gql: Any, actor: Member, **equipment: str) -> list[str]:
    body = await gql(LIST, equipment, token=actor.token)
    assert "errors" not in body, body
    return [node["name"] for node in body["data"]["provisioningTemplates"]["nodes"]]


# Owner of each template of the matrix; o2 (provisioning VIEW) gets its template from p1.
OWNERS = {"admin": "admin", "p1": "p1", "o1": "o1", "o2": "p1", "p2": "p2", "o3": "o3"}
# What each viewer manages (lists, looks up) in the standard tree.
MANAGED = {
    "admin": ["admin", "p1", "o1", "o2", "p2", "o3"],
    "p1": ["p1", "o1", "o2"],
    "o1": ["o1"],
    "o2": ["o2"],  # its own, read-only: its provisioning is VIEW
    "p2": ["p2", "o3"],
    "o3": ["o3"],
    "u1": [],
    "u3": [],
}


@pytest.fixture
async def matrix(gql: Any, tree: dict[str, Member]) -> dict[str, str]:
    """One template per non-user account, named after its owner: template id by owner."""
    ids = {}
    for owner, creator in OWNERS.items():
        ids[owner] = await new_template_id(gql, tree[creator], f"T-{owner}", tree[owner])
    return ids


async def test_each_viewer_lists_and_looks_up_its_own_and_its_descendants_templates(
    gql, tree, matrix
):
    for viewer, managed in MANAGED.items():
        expected = ["Server default", *(f"T-{owner}" for owner in managed)]
        assert await listed(gql, tree[viewer]) == expected, viewer
        for owner, template_id in matrix.items():
            body = await gql(BY_ID, {"id": template_id}, token=tree[viewer].token)
            visible = owner in managed
            assert (body["data"]["provisioningTemplate"] is not None) is visible, (viewer, owner)
            assert (body["data"]["node"] is not None) is visible, (viewer, owner)


async def test_updates_need_modify_and_a_template_of_the_viewer_or_below(gql, tree, matrix):
    for viewer, managed in MANAGED.items():
        for owner, template_id in matrix.items():
            body = await gql(
                UPDATE, {"id": template_id, "description": f"by {viewer}"}, token=tree[viewer].token
            )
            payload = body["data"]["updateProvisioningTemplate"]
            if owner in managed and viewer != "o2":
                assert payload["userErrors"] == [], (viewer, owner)
                assert payload["provisioningTemplate"]["description"] == f"by {viewer}"
            elif owner in managed:
                assert codes(payload) == [("id", "NOT_ALLOWED")], (viewer, owner)
            else:
                assert codes(payload) == [("id", "NOT_FOUND")], (viewer, owner)


async def test_set_file_and_delete_are_refused_outside_what_the_viewer_may_modify(
    gql, tree, matrix
):
    for viewer, managed in MANAGED.items():
        for owner, template_id in matrix.items():
            if owner in managed and viewer != "o2":
                continue
            expected = "NOT_ALLOWED" if owner in managed else "NOT_FOUND"
            payload = await set_file(gql, tree[viewer], template_id, OVERRIDE)
            assert codes(payload) == [("templateId", expected)], (viewer, owner)
            body = await gql(DELETE, {"id": template_id}, token=tree[viewer].token)
            assert codes(body["data"]["deleteProvisioningTemplate"]) == [("id", expected)]
    assert len(await listed(gql, tree["admin"])) == 7  # nothing was deleted


async def test_owners_and_ancestors_with_modify_set_files_and_delete(gql, tree, matrix):
    for viewer, owner in [("o1", "o1"), ("p1", "o2"), ("admin", "o3"), ("p2", "p2")]:
        payload = await set_file(gql, tree[viewer], matrix[owner], OVERRIDE)
        assert payload["userErrors"] == [], (viewer, owner)
        body = await gql(DELETE, {"id": matrix[owner]}, token=tree[viewer].token)
        assert body["data"]["deleteProvisioningTemplate"] == {
            "deletedProvisioningTemplateId": matrix[owner],
            "userErrors": [],
        }
    assert await listed(gql, tree["admin"]) == ["Server default", "T-admin", "T-p1"]


async def test_viewer_can_modify_follows_the_rules(gql, tree, matrix):
    body = await gql(LIST, {}, token=tree["p1"].token)
    flags = {
        node["name"]: node["viewerCanModify"]
        for node in body["data"]["provisioningTemplates"]["nodes"]
    }
    assert flags == {"Server default": False, "T-p1": True, "T-o1": True, "T-o2": True}
    body = await gql(LIST, {}, token=tree["o2"].token)
    flags = {
        node["name"]: node["viewerCanModify"]
        for node in body["data"]["provisioningTemplates"]["nodes"]
    }
    assert flags == {"Server default": False, "T-o2": False}


async def test_a_viewer_lowered_to_view_no_longer_manages_descendants_templates(gql, tree, matrix):
    body = await gql(
        "mutation($id: ID!) { setAccountPermissions(id: $id, provisioning: VIEW) { userErrors { code } } }",
        {"id": tree["p1"].gid},
        token=tree["admin"].token,
    )
    assert body["data"]["setAccountPermissions"]["userErrors"] == []
    assert await listed(gql, tree["p1"]) == ["Server default", "T-p1"]
    lookup = await gql(BY_ID, {"id": matrix["o1"]}, token=tree["p1"].token)
    assert lookup["data"]["provisioningTemplate"] is None
    updated = await gql(UPDATE, {"id": matrix["o1"], "name": "x"}, token=tree["p1"].token)
    assert codes(updated["data"]["updateProvisioningTemplate"]) == [("id", "NOT_FOUND")]
    own = await gql(UPDATE, {"id": matrix["p1"], "name": "x"}, token=tree["p1"].token)
    assert codes(own["data"]["updateProvisioningTemplate"]) == [("id", "NOT_ALLOWED")]
    # o1's own level is capped by p1's now: it keeps seeing its template, read-only.
    assert await listed(gql, tree["o1"]) == ["Server default", "T-o1"]
    created = await create_template(gql, tree["o1"], "Another")
    assert codes(created) == [(None, "NOT_ALLOWED")]


async def test_choosing_offers_the_server_default_and_the_viewers_own_templates_with_files(
    gql, tree, matrix
):
    for owner in ("admin", "p1", "o1"):
        payload = await set_file(gql, tree[owner], matrix[owner], OVERRIDE)
        assert payload["userErrors"] == [], owner
    for viewer, expected in [
        ("admin", ["Server default", "T-admin"]),  # the admin chooses only among its own
        ("p1", ["Server default", "T-p1"]),
        ("o1", ["Server default", "T-o1"]),
        ("p2", ["Server default"]),  # its template has no file for this equipment
        ("o2", ["Server default"]),
        ("u1", ["Server default"]),
    ]:
        assert await listed(gql, tree[viewer], **YEALINK) == expected, viewer
    other = {"manufacturer": "yealink", "model": "T40P", "firmware": "V81"}
    assert await listed(gql, tree["o1"], **other) == ["Server default"]


async def test_choose_mode_needs_all_three_equipment_arguments_of_the_catalog(gql, tree):
    body = await gql(LIST, {"manufacturer": "yealink"}, token=tree["o1"].token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await gql(LIST, {**YEALINK, "model": "T99"}, token=tree["o1"].token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_may_choose_template_is_the_same_rule_for_the_device_code(
    gql, tree, matrix, session_factory
):
    await set_file(gql, tree["o1"], matrix["o1"], OVERRIDE)
    o1_template = decode_id(matrix["o1"], "ProvisioningTemplate")

    def viewer(name: str, level: ProvisioningLevel) -> Viewer:
        member = tree[name]
        return Viewer(member.id, member.role, member.tree_path, Permissions(level, True), 0)

    async with session_factory() as session:
        o1, p1 = viewer("o1", ProvisioningLevel.MODIFY), viewer("p1", ProvisioningLevel.MODIFY)
        set_tree_scope(session.sync_session, o1.tree_path)
        assert await may_choose_template(session, o1, None, "yealink", "T46S", "V81")
        assert await may_choose_template(session, o1, o1_template, "yealink", "T46S", "V81")
        assert not await may_choose_template(session, o1, o1_template, "yealink", "T40P", "V81")
        set_tree_scope(session.sync_session, p1.tree_path)
        assert not await may_choose_template(session, p1, o1_template, "yealink", "T46S", "V81")


async def test_the_server_default_is_a_read_only_template_with_every_catalog_file(gql, tree):
    body = await gql(
        """query($id: ID!) { provisioningTemplate(id: $id) {
             id name isServerDefault viewerCanModify owner { id } createdAt
             equipment { manufacturer }
             all: files { id }
             files(manufacturer: "yealink", model: "T46S", firmware: "V81") { id fileName source } } }""",
        {"id": SERVER_DEFAULT},
        token=tree["u1"].token,
    )
    template = body["data"]["provisioningTemplate"]
    assert template["isServerDefault"] is True
    assert template["viewerCanModify"] is False
    assert template["owner"] is None
    assert len(template["equipment"]) > 100
    assert len(template["all"]) > len(template["equipment"])
    names = [file["fileName"] for file in template["files"]]
    assert names == ["{mac}.boot", "y000000000000.boot", "y000000000066.cfg", "{mac}.cfg"]
    assert "{% block time %}" in template["files"][3]["source"]
    for document, variables, payload_name in [
        (UPDATE, {"id": SERVER_DEFAULT, "name": "Mine"}, "updateProvisioningTemplate"),
        (DELETE, {"id": SERVER_DEFAULT}, "deleteProvisioningTemplate"),
    ]:
        refused = await gql(document, variables, token=tree["admin"].token)
        assert codes(refused["data"][payload_name]) == [("id", "NOT_ALLOWED")]
    payload = await set_file(gql, tree["admin"], SERVER_DEFAULT, OVERRIDE)
    assert codes(payload) == [("templateId", "NOT_ALLOWED")]


async def test_create_reports_every_problem_at_once(gql, tree):
    payload = await create_template(gql, tree["o1"], " ", description="d" * 501)
    assert set(codes(payload)) == {("name", "REQUIRED"), ("description", "TOO_LONG")}
    payload = await create_template(gql, tree["o1"], "n" * 101)
    assert codes(payload) == [("name", "TOO_LONG")]


async def test_names_are_unique_per_owner_regardless_of_case(gql, tree):
    await new_template_id(gql, tree["o1"], "Office Phones")
    again = await create_template(gql, tree["p1"], "office PHONES", tree["o1"])
    assert codes(again) == [("name", "TAKEN")]
    assert (await create_template(gql, tree["p1"], "Office Phones"))["userErrors"] == []
    other = await new_template_id(gql, tree["o1"], "Other")
    renamed = await gql(UPDATE, {"id": other, "name": "OFFICE phones"}, token=tree["o1"].token)
    assert codes(renamed["data"]["updateProvisioningTemplate"]) == [("name", "TAKEN")]
    same = await gql(UPDATE, {"id": other, "name": "other"}, token=tree["o1"].token)
    assert same["data"]["updateProvisioningTemplate"]["userErrors"] == []


async def test_owners_must_be_in_the_subtree_and_not_users(gql, tree):
    payload = await create_template(gql, tree["p1"], "T", tree["o3"])
    assert codes(payload) == [("ownerId", "NOT_FOUND")]
    payload = await create_template(gql, tree["o1"], "T", tree["p1"])
    assert codes(payload) == [("ownerId", "NOT_FOUND")]
    payload = await create_template(gql, tree["o1"], "T", tree["u1"])
    assert codes(payload) == [("ownerId", "INVALID")]
    payload = await create_template(gql, tree["u1"], "T")
    assert codes(payload) == [(None, "NOT_ALLOWED")]
    payload = await create_template(gql, tree["o2"], "T")  # provisioning VIEW
    assert codes(payload) == [(None, "NOT_ALLOWED")]
    created = await create_template(gql, tree["admin"], "T", tree["o1"])
    assert created["userErrors"] == []
    assert created["provisioningTemplate"]["owner"] == {"login": "o1"}
    assert created["provisioningTemplate"]["isServerDefault"] is False


async def test_extending_the_server_default_overrides_one_block(gql, tree):
    template_id = await new_template_id(gql, tree["o1"], "NTP")
    payload = await set_file(gql, tree["o1"], template_id, OVERRIDE)
    assert payload["userErrors"] == []
    assert payload["templateFile"]["fileName"] == "{mac}.cfg"
    assert payload["templateFile"]["source"] == OVERRIDE
    assert payload["provisioningTemplate"]["equipment"] == [YEALINK]
    assert payload["regeneratedDevices"] == 0
    preview = await gql(PREVIEW, {"template": template_id, **DEVICE_FILE}, token=tree["o1"].token)
    result = preview["data"]["previewProvisioningFile"]
    assert result["userErrors"] == []
    assert result["fileName"] == "001565123456.cfg"
    assert result["content"].startswith("#!version:1.0.0.1\n")
    assert "local_time.ntp_server1 = ntp.customer.example" in result["content"]
    assert "account.1.user_name = 0027*001" in result["content"]  # the default's other blocks
    default = await gql(
        PREVIEW, {"template": SERVER_DEFAULT, **DEVICE_FILE}, token=tree["u1"].token
    )
    assert "ntp.customer.example" not in default["data"]["previewProvisioningFile"]["content"]


async def test_a_syntax_error_is_reported_with_its_line_and_nothing_is_saved(gql, tree):
    template_id = await new_template_id(gql, tree["o1"], "Broken")
    source = "#!version:1.0.0.1\naccount.1.enable = 1\n{% if %}\n"
    payload = await set_file(gql, tree["o1"], template_id, source)
    [error] = payload["userErrors"]
    assert (error["field"], error["code"]) == ("source", "INVALID")
    assert error["message"].startswith("{mac}.cfg, line 3: ")
    assert payload["provisioningTemplate"] is None
    body = await gql(
        "query($id: ID!) { provisioningTemplate(id: $id) { files { fileName } } }",
        {"id": template_id},
        token=tree["o1"].token,
    )
    assert body["data"]["provisioningTemplate"]["files"] == []


async def test_a_sandbox_escape_is_refused(gql, tree):
    template_id = await new_template_id(gql, tree["o1"], "Escape")
    source = "#!version:1.0.0.1\n{{ ''.__class__.__mro__ }}\n"
    payload = await set_file(gql, tree["o1"], template_id, source)
    [error] = payload["userErrors"]
    assert (error["field"], error["code"]) == ("source", "INVALID")
    assert "line 2" in error["message"]
    assert "unsafe" in error["message"]


async def test_equipment_and_file_name_problems_name_their_field(gql, tree):
    template_id = await new_template_id(gql, tree["o1"], "Fields")
    for file, field_name in [
        ({"manufacturer": "acme"}, "manufacturer"),
        ({"model": "T99"}, "model"),
        ({"firmware": "V99"}, "firmware"),
        ({"fileName": "SIP{MAC}.cnf"}, "fileName"),
    ]:
        payload = await set_file(gql, tree["o1"], template_id, OVERRIDE, **file)
        assert [error["field"] for error in payload["userErrors"]] == [field_name], file
    payload = await set_file(gql, tree["o2"], template_id, "{% if %}", model="T99")
    assert set(codes(payload)) == {("model", "NOT_FOUND"), ("templateId", "NOT_FOUND")}


async def test_deleting_a_file_falls_back_to_the_server_default(gql, tree):
    template_id = await new_template_id(gql, tree["o1"], "Fallback")
    await set_file(gql, tree["o1"], template_id, OVERRIDE)
    variables = {"template": template_id, **DEVICE_FILE}
    body = await gql(DELETE_FILE, variables, token=tree["o1"].token)
    assert body["data"]["deleteTemplateFile"]["userErrors"] == []
    assert body["data"]["deleteTemplateFile"]["provisioningTemplate"]["files"] == []
    again = await gql(DELETE_FILE, variables, token=tree["o1"].token)
    assert codes(again["data"]["deleteTemplateFile"]) == [("fileName", "NOT_FOUND")]
    outsider = await gql(DELETE_FILE, variables, token=tree["p2"].token)
    assert codes(outsider["data"]["deleteTemplateFile"]) == [("templateId", "NOT_FOUND")]


async def test_preview_keeps_panasonic_crlf_and_reports_source_problems(gql, tree):
    panasonic = {"manufacturer": "panasonic", "model": "KX-UT113", "firmware": "STD"}
    body = await gql(PREVIEW, {**panasonic, "fileName": "Config{MAC}.cfg"}, token=tree["u1"].token)
    result = body["data"]["previewProvisioningFile"]
    assert result["userErrors"] == []
    assert result["fileName"] == "Config0080F0123456.cfg"
    assert "\r\n" in result["content"]
    assert result["content"].endswith("\r\n\r\n")
    broken = await gql(
        PREVIEW, {**DEVICE_FILE, "source": "{{ x.__class__ }}"}, token=tree["u1"].token
    )
    result = broken["data"]["previewProvisioningFile"]
    assert result["content"] is None
    assert [error["field"] for error in result["userErrors"]] == ["source"]


async def test_preview_of_a_template_the_viewer_cannot_see_is_not_found(gql, tree, matrix):
    body = await gql(PREVIEW, {"template": matrix["o1"], **DEVICE_FILE}, token=tree["p2"].token)
    assert codes(body["data"]["previewProvisioningFile"]) == [("templateId", "NOT_FOUND")]
    body = await gql(
        PREVIEW,
        {**DEVICE_FILE, "device": encode_global_id("Device", 1)},
        token=tree["o1"].token,
    )
    assert codes(body["data"]["previewProvisioningFile"]) == [("deviceId", "NOT_FOUND")]


async def test_preview_writes_nothing(gql, tree, session_factory):
    template_id = await new_template_id(gql, tree["o1"], "Quiet")

    async def row_counts() -> tuple[int, ...]:
        async with session_factory() as session:
            return tuple(
                [
                    await session.scalar(select(func.count()).select_from(table))
                    for table in (AuditEntry, TemplateFile, ProvisioningTemplate, RenderedFile)
                ]
            )

    before = await row_counts()
    body = await gql(
        PREVIEW,
        {"template": template_id, **DEVICE_FILE, "source": OVERRIDE},
        token=tree["o1"].token,
    )
    assert "ntp.customer.example" in body["data"]["previewProvisioningFile"]["content"]
    assert await row_counts() == before


async def add_device(
    gql: Any, tree: dict[str, Member], session_factory: Any, services: Any, template_id: str
) -> int:
    """A Yealink T46S of u1 on the template, with its files rendered once."""
    created = await create_extension(gql, tree["o1"].token, tree["u1"].gid)
    extension_id = decode_id(created["extension"]["id"], "Extension")
    async with session_factory() as session:
        device = Device(
            extension_id=extension_id,
            tree_path=tree["u1"].tree_path,
            friendly_name="AliceDesk",
            mac="00:15:65:aa:bb:cc",
            update_protocol=UpdateProtocol.HTTPS,
            template_id=decode_id(template_id, "ProvisioningTemplate"),
            key_hash=secrets.token_hex(32),
            key_secret=b"",
            **YEALINK,
        )
        session.add(device)
        await session.flush()
        device.key_secret = services.secrets.encrypt(
            secrets.token_urlsafe(24), device.secret_identity("key")
        )
        report = await render_devices(session, services.secrets, [device.id])
        assert report.failures == []
        await session.commit()
        return device.id


async def rendered(session_factory: Any, device_id: int) -> dict[str, bytes]:
    async with session_factory() as session:
        rows = await session.scalars(
            select(RenderedFile).where(RenderedFile.device_id == device_id)
        )
        return {row.name: file_plaintext(row.device_id, row.name_key, row.content) for row in rows}


async def test_set_file_renders_the_devices_using_the_template_again(
    gql, tree, session_factory, services
):
    template_id = await new_template_id(gql, tree["o1"], "Live")
    device_id = await add_device(gql, tree, session_factory, services, template_id)
    before = await rendered(session_factory, device_id)
    assert b"ntp.customer.example" not in before["001565aabbcc.cfg"]
    payload = await set_file(gql, tree["o1"], template_id, OVERRIDE)
    assert payload["userErrors"] == []
    assert (payload["regeneratedDevices"], payload["failedDevices"]) == (1, 0)
    after = await rendered(session_factory, device_id)
    assert set(after) == set(before)
    assert b"local_time.ntp_server1 = ntp.customer.example" in after["001565aabbcc.cfg"]
    assert after["y000000000066.cfg"] == before["y000000000066.cfg"]
    body = await gql(DELETE_FILE, {"template": template_id, **DEVICE_FILE}, token=tree["o1"].token)
    assert body["data"]["deleteTemplateFile"]["regeneratedDevices"] == 1
    assert await rendered(session_factory, device_id) == before


async def test_a_template_in_use_cannot_be_deleted_until_its_devices_move(
    gql, tree, session_factory, services
):
    template_id = await new_template_id(gql, tree["o1"], "Busy")
    device_id = await add_device(gql, tree, session_factory, services, template_id)
    body = await gql(LIST, {}, token=tree["p1"].token)
    counts = {
        node["name"]: node["deviceCount"] for node in body["data"]["provisioningTemplates"]["nodes"]
    }
    assert counts == {"Server default": 0, "Busy": 1}
    refused = await gql(DELETE, {"id": template_id}, token=tree["o1"].token)
    [error] = refused["data"]["deleteProvisioningTemplate"]["userErrors"]
    assert error["field"] == "id"
    assert error["message"] == "1 device uses this template; move it to another template first."
    async with session_factory() as session:
        device = await session.get(Device, device_id)
        device.template_id = None
        await session.commit()
    allowed = await gql(DELETE, {"id": template_id}, token=tree["o1"].token)
    assert allowed["data"]["deleteProvisioningTemplate"]["userErrors"] == []


async def test_template_changes_are_audited_without_the_source(gql, tree, session_factory):
    template_id = await new_template_id(gql, tree["o1"], "Audited")
    await set_file(gql, tree["o1"], template_id, OVERRIDE)
    await gql(UPDATE, {"id": template_id, "description": "x"}, token=tree["o1"].token)
    await gql(DELETE_FILE, {"template": template_id, **DEVICE_FILE}, token=tree["o1"].token)
    await gql(DELETE, {"id": template_id}, token=tree["o1"].token)
    async with session_factory() as session:
        templates = select(AuditEntry).where(AuditEntry.object_type == "provisioning_template")
        entries = list(await session.scalars(templates.order_by(AuditEntry.id)))
    assert [entry.action for entry in entries] == [
        "template.create",
        "template.file.set",
        "template.update",
        "template.file.delete",
        "template.delete",
    ]
    assert {entry.actor_login for entry in entries} == {"o1"}
    assert {entry.client_address for entry in entries} == {"203.0.113.7"}
    file_details = json.loads(entries[1].details)
    assert file_details["file"] == "{mac}.cfg"
    assert all("ntp.customer" not in entry.details for entry in entries)


async def test_the_list_pages_with_the_server_default_first(gql, tree):
    for index in range(3):
        await new_template_id(gql, tree["o1"], f"Page {index}")
    first = await gql(LIST, {"first": 2}, token=tree["o1"].token)
    connection = first["data"]["provisioningTemplates"]
    assert [node["name"] for node in connection["nodes"]] == ["Server default", "Page 0"]
    assert connection["totalCount"] == 4
    assert connection["pageInfo"]["hasNextPage"] is True
    rest = await gql(LIST, {"after": connection["pageInfo"]["endCursor"]}, token=tree["o1"].token)
    connection = rest["data"]["provisioningTemplates"]
    assert [node["name"] for node in connection["nodes"]] == ["Page 1", "Page 2"]
    assert connection["pageInfo"]["hasNextPage"] is False


async def test_anonymous_callers_are_refused_everywhere(gql, tree, matrix):
    template_id = matrix["o1"]
    for document, variables in [
        (LIST, {}),
        (LIST, YEALINK),
        (BY_ID, {"id": template_id}),
        (CREATE, {"name": "Anon"}),
        (UPDATE, {"id": template_id, "name": "Anon"}),
        (DELETE, {"id": template_id}),
        (SET_FILE, {"template": template_id, **DEVICE_FILE, "source": OVERRIDE}),
        (DELETE_FILE, {"template": template_id, **DEVICE_FILE}),
        (PREVIEW, DEVICE_FILE),
    ]:
        body = await gql(document, variables)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", document
    body = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": template_id})
    assert body["data"]["node"] is None


BUDGET_LIST = """query { provisioningTemplates(first: 500) { totalCount nodes {
  name owner { login } deviceCount viewerCanModify equipment { model }
  files(manufacturer: "yealink") { fileName source updatedAt } } } }"""


async def statements_for_listing(gql, tree, count_statements, templates: int) -> int:
    for index in range(templates):
        template_id = await new_template_id(
            gql, tree["p1"], f"Budget {templates} {index}", tree["o1"]
        )
        payload = await set_file(gql, tree["p1"], template_id, OVERRIDE)
        assert payload["userErrors"] == []
    with count_statements as counter:
        body = await gql(BUDGET_LIST, token=tree["p1"].token)
    assert "errors" not in body, body
    nodes = body["data"]["provisioningTemplates"]["nodes"]
    assert len(nodes) == 1 + templates
    assert all(len(node["files"]) == 1 for node in nodes[1:])
    return counter.count


async def test_listing_templates_with_files_costs_the_same_statements_for_2_or_12(
    engine, session_factory, services, gql, count_statements
):
    tree = await build_tree(session_factory, services)
    small = await statements_for_listing(gql, tree, count_statements, 2)
    await wipe(engine)
    tree = await build_tree(session_factory, services)
    large = await statements_for_listing(gql, tree, count_statements, 12)
    assert large == small
