"""SIP preferences: FULL versus LIMITED access, and the phone password flows."""

from __future__ import annotations

from typing import Any

import pytest
from account_tree import Member, build_tree
from extension_fixtures import create_extension

READ = """query($id: ID!) { extension(id: $id) { sipPreferencesTitle sipPreferences {
  sipAccess phonePassword useInterfacePassword equipmentDescription dtmfMode codecs natKeepAlive
  allowedRegistrationIps presencePublishing directMedia forcedMwi } } }"""
UPDATE = """mutation($id: ID!, $password: String, $confirmation: String, $useInterface: Boolean,
  $interface: String, $description: String, $dtmf: DtmfMode, $codecs: [Codec!], $nat: Boolean,
  $ips: [String!], $presence: Boolean, $direct: Boolean, $mwi: Boolean) {
  updateSipPreferences(extensionId: $id, phonePassword: $password, phonePasswordConfirmation: $confirmation,
    useInterfacePassword: $useInterface, interfacePassword: $interface, equipmentDescription: $description,
    dtmfMode: $dtmf, codecs: $codecs, natKeepAlive: $nat, allowedRegistrationIps: $ips,
    presencePublishing: $presence, directMedia: $direct, forcedMwi: $mwi) {
    sipPreferences { sipAccess phonePassword useInterfacePassword dtmfMode codecs allowedRegistrationIps }
    userErrors { field code message } } }"""
GOOD_PASSWORD = "Line1-Secret-pw"
FULL_ONLY = {
    "dtmf": "INFO",
    "codecs": ["G722"],
    "nat": False,
    "ips": ["192.0.2.0/24"],
    "presence": True,
    "direct": True,
    "mwi": True,
}
FIELD_NAMES = {
    "dtmf": "dtmfMode",
    "codecs": "codecs",
    "nat": "natKeepAlive",
    "ips": "allowedRegistrationIps",
    "presence": "presencePublishing",
    "direct": "directMedia",
    "mwi": "forcedMwi",
}


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


@pytest.fixture
async def extension_id(gql, tree) -> str:
    payload = await create_extension(gql, tree["o1"].token, tree["u2"].gid, "Reception")
    return str(payload["extension"]["id"])


def codes(body: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in body["data"]["updateSipPreferences"]["userErrors"]]


async def test_access_is_full_with_sip_management_and_limited_without(gql, tree, extension_id):
    expected = {"admin": "FULL", "p1": "FULL", "o1": "FULL", "u2": "LIMITED"}
    for viewer, access in expected.items():
        body = await gql(READ, {"id": extension_id}, token=tree[viewer].token)
        assert body["data"]["extension"]["sipPreferences"]["sipAccess"] == access, viewer


async def test_lowering_a_parent_s_sip_management_limits_its_subtree(gql, tree, extension_id):
    await gql(
        "mutation($id: ID!) { setAccountPermissions(id: $id, sipManagement: false) { userErrors { code } } }",
        {"id": tree["p1"].gid},
        token=tree["admin"].token,
    )
    body = await gql(READ, {"id": extension_id}, token=tree["o1"].token)
    assert body["data"]["extension"]["sipPreferences"]["sipAccess"] == "LIMITED"


async def test_limited_viewers_read_null_for_full_only_fields(gql, tree, extension_id):
    prefs = (await gql(READ, {"id": extension_id}, token=tree["u2"].token))["data"]["extension"][
        "sipPreferences"
    ]
    for field in (
        "dtmfMode",
        "codecs",
        "natKeepAlive",
        "allowedRegistrationIps",
        "presencePublishing",
        "directMedia",
        "forcedMwi",
    ):
        assert prefs[field] is None, field
    assert prefs["equipmentDescription"] == ""
    assert prefs["useInterfacePassword"] is False
    full = (await gql(READ, {"id": extension_id}, token=tree["o1"].token))["data"]["extension"][
        "sipPreferences"
    ]
    assert full["dtmfMode"] == "RFC2833"
    assert full["codecs"] == ["PCMA", "PCMU", "G722"]


async def test_limited_viewers_get_one_error_per_full_only_field_and_nothing_is_saved(
    gql, tree, extension_id
):
    body = await gql(
        UPDATE,
        {"id": extension_id, "description": "desk phone", **FULL_ONLY},
        token=tree["u2"].token,
    )
    assert sorted(codes(body)) == sorted((FIELD_NAMES[key], "NOT_ALLOWED") for key in FULL_ONLY)
    prefs = (await gql(READ, {"id": extension_id}, token=tree["o1"].token))["data"]["extension"][
        "sipPreferences"
    ]
    assert prefs["equipmentDescription"] == ""


async def test_limited_viewers_may_set_password_and_description(gql, tree, extension_id):
    body = await gql(
        UPDATE,
        {
            "id": extension_id,
            "password": GOOD_PASSWORD,
            "confirmation": GOOD_PASSWORD,
            "description": "Yealink at the desk",
        },
        token=tree["u2"].token,
    )
    assert codes(body) == []
    prefs = body["data"]["updateSipPreferences"]["sipPreferences"]
    assert prefs["phonePassword"] == GOOD_PASSWORD
    assert prefs["dtmfMode"] is None


async def test_full_viewers_set_every_field(gql, tree, extension_id):
    body = await gql(
        UPDATE,
        {"id": extension_id, **FULL_ONLY, "codecs": ["OPUS", "G722", "PCMA"]},
        token=tree["o1"].token,
    )
    assert codes(body) == []
    prefs = (await gql(READ, {"id": extension_id}, token=tree["o1"].token))["data"]["extension"][
        "sipPreferences"
    ]
    assert prefs["codecs"] == ["OPUS", "G722", "PCMA"]
    assert prefs["allowedRegistrationIps"] == ["192.0.2.0/24"]
    assert (
        prefs["dtmfMode"],
        prefs["natKeepAlive"],
        prefs["presencePublishing"],
        prefs["directMedia"],
        prefs["forcedMwi"],
    ) == ("INFO", False, True, True, True)


async def test_bad_values_are_reported_per_field(gql, tree, extension_id):
    body = await gql(
        UPDATE,
        {
            "id": extension_id,
            "password": "weak",
            "confirmation": "other",
            "codecs": ["PCMA", "PCMA"],
            "ips": ["10.0.0.1/8", "not-an-ip"],
            "description": "two\nlines",
        },
        token=tree["o1"].token,
    )
    assert sorted(codes(body)) == sorted(
        [
            ("phonePasswordConfirmation", "MISMATCH"),
            ("phonePassword", "WEAK_PASSWORD"),
            ("codecs", "INVALID"),
            ("allowedRegistrationIps", "INVALID"),
            ("allowedRegistrationIps", "INVALID"),
            ("equipmentDescription", "INVALID"),
        ]
    )
    weak = body["data"]["updateSipPreferences"]["userErrors"]
    assert any("10-64" in e["message"] for e in weak if e["field"] == "phonePassword")


async def test_phone_password_must_not_contain_the_extension_number(gql, tree, extension_id):
    password = "Abc0001*001xyz"
    body = await gql(
        UPDATE,
        {"id": extension_id, "password": password, "confirmation": password},
        token=tree["o1"].token,
    )
    assert codes(body) == [("phonePassword", "WEAK_PASSWORD")]


async def test_non_phone_extensions_have_no_sip_preferences(gql, tree):
    queue = await create_extension(gql, tree["o1"].token, tree["u2"].gid, "Queue", type_="QUEUE")
    read = await gql(READ, {"id": queue["extension"]["id"]}, token=tree["o1"].token)
    assert read["data"]["extension"]["sipPreferences"] is None
    body = await gql(
        UPDATE, {"id": queue["extension"]["id"], "description": "x"}, token=tree["o1"].token
    )
    assert codes(body) == [("extensionId", "INVALID")]


async def test_other_tenants_cannot_touch_sip_preferences(gql, tree, extension_id):
    for viewer in ("p2", "o2", "u1"):
        body = await gql(UPDATE, {"id": extension_id, "description": "x"}, token=tree[viewer].token)
        assert codes(body) == [("extensionId", "NOT_FOUND")], viewer
    assert (await gql(UPDATE, {"id": extension_id, "description": "x"}))["errors"][0]["extensions"][
        "code"
    ] == "UNAUTHENTICATED"


async def test_same_as_interface_needs_the_owner_s_current_password(gql, tree, extension_id):
    wrong = await gql(
        UPDATE,
        {"id": extension_id, "useInterface": True, "interface": "guess"},
        token=tree["u2"].token,
    )
    assert codes(wrong) == [("interfacePassword", "INVALID_CREDENTIALS")]
    right = await gql(
        UPDATE,
        {"id": extension_id, "useInterface": True, "interface": tree["u2"].password},
        token=tree["u2"].token,
    )
    assert codes(right) == []
    prefs = right["data"]["updateSipPreferences"]["sipPreferences"]
    assert prefs["useInterfacePassword"] is True
    assert prefs["phonePassword"] == tree["u2"].password


async def test_interface_password_change_follows_to_flagged_extensions_only(
    gql, tree, extension_id
):
    other = await create_extension(gql, tree["o1"].token, tree["u2"].gid, "Second line")
    other_id = other["extension"]["id"]
    await gql(
        UPDATE,
        {"id": other_id, "password": GOOD_PASSWORD, "confirmation": GOOD_PASSWORD},
        token=tree["o1"].token,
    )
    await gql(
        UPDATE,
        {"id": extension_id, "useInterface": True, "interface": tree["u2"].password},
        token=tree["u2"].token,
    )
    new_password = "Changed-Interface-9"
    changed = await gql(
        "mutation($id: ID!, $p: String!) { updateAccount(id: $id, password: $p) { userErrors { code } } }",
        {"id": tree["u2"].gid, "p": new_password},
        token=tree["o1"].token,
    )
    assert changed["data"]["updateAccount"]["userErrors"] == []
    flagged = (await gql(READ, {"id": extension_id}, token=tree["o1"].token))["data"]["extension"][
        "sipPreferences"
    ]
    manual = (await gql(READ, {"id": other_id}, token=tree["o1"].token))["data"]["extension"][
        "sipPreferences"
    ]
    assert flagged["phonePassword"] == new_password
    assert manual["phonePassword"] == GOOD_PASSWORD


async def test_typing_a_phone_password_turns_same_as_interface_off(gql, tree, extension_id):
    await gql(
        UPDATE,
        {"id": extension_id, "useInterface": True, "interface": tree["u2"].password},
        token=tree["u2"].token,
    )
    body = await gql(
        UPDATE,
        {"id": extension_id, "password": GOOD_PASSWORD, "confirmation": GOOD_PASSWORD},
        token=tree["u2"].token,
    )
    assert body["data"]["updateSipPreferences"]["sipPreferences"]["useInterfacePassword"] is False


async def test_title_follows_chat_server_access(gql, tree, extension_id):
    assert (await gql(READ, {"id": extension_id}, token=tree["o1"].token))["data"]["extension"][
        "sipPreferencesTitle"
    ] == "SIP Preferences"
    await gql(
        "mutation($id: ID!) { updateExtension(id: $id, chatServerAccess: true) { userErrors { code } } }",
        {"id": extension_id},
        token=tree["o1"].token,
    )
    assert (await gql(READ, {"id": extension_id}, token=tree["o1"].token))["data"]["extension"][
        "sipPreferencesTitle"
    ] == "SIP and IM Preferences"
