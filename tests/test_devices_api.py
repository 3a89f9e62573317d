"""provisionDevice and friends: validation, duplicate MACs, permissions, links, re-rendering."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from account_tree import Member, build_tree
from device_fixtures import PROVISION, device_variables, provision
from extension_fixtures import create_extension

SET_EXTENSION_LEVEL = """mutation($id: ID!, $level: ProvisioningLevel) {
  updateExtension(id: $id, provisioning: $level) { userErrors { code } } }"""
SET_ACCOUNT_LEVEL = """mutation($id: ID!, $level: ProvisioningLevel) {
  setAccountPermissions(id: $id, provisioning: $level) { userErrors { code } } }"""
EXTENSION_DEVICE = """query($id: ID!) { extension(id: $id) { viewerProvisioning
  device { id friendlyName adminPassword files { name content } } } }"""
PREFERENCES = """mutation($allow: Boolean, $base: String, $registrar: String) {
  updateGlobalPreferences(allowMacBasedProvisioning: $allow, baseUrl: $base, registrarHost: $registrar) {
    globalPreferences { allowMacBasedProvisioning baseUrl } regeneration { devices }
    userErrors { field code message } } }"""
MAC = "00:15:65:AA:BB:01"


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


@pytest.fixture
async def phones(gql, tree) -> dict[str, str]:
    """A phone-terminal extension in o1 (u1), o2 (u3) and o3 (u4)."""
    made = {}
    for name, actor, owner in [("o1", "o1", "u1"), ("o2", "p1", "u3"), ("o3", "p2", "u4")]:
        payload = await create_extension(gql, tree[actor].token, tree[owner].gid, f"Phone {name}")
        made[name] = payload["extension"]["id"]
    return made


def codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


async def test_provisioning_creates_a_device_with_rendered_files_and_a_link(gql, tree, phones):
    payload = await provision(gql, tree["o1"].token, phones["o1"], MAC)
    assert payload["userErrors"] == []
    device = payload["device"]
    assert device["mac"] == "00:15:65:AA:BB:01"
    assert device["updateProtocol"] == "HTTP"  # no TLS is served
    assert device["templateId"] == "UHJvdmlzaW9uaW5nVGVtcGxhdGU6MA=="
    names = {file["name"] for file in device["files"]}
    assert "001565aabb01.cfg" in names
    per_device = next(f for f in device["files"] if f["name"] == "001565aabb01.cfg")
    assert "account.1.user_name = 0001*001" in per_device["content"]
    [link] = device["provisioningLinks"]
    assert link["kind"] == "DEVICE_DIRECTORY"
    assert link["url"].startswith("http://127.0.0.1:8000/prov/") and link["url"].endswith("/")
    assert payload["regeneration"] == {"devices": 1, "files": len(names), "failures": []}


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"name": "ab"}, ("friendlyName", "TOO_SHORT")),
        ({"name": "a" * 33}, ("friendlyName", "TOO_LONG")),
        ({"name": "Desk Phone"}, ("friendlyName", "INVALID")),
        ({"interval": 0}, ("updateInterval", "OUT_OF_RANGE")),
        ({"interval": 100000}, ("updateInterval", "OUT_OF_RANGE")),
        ({"mac": "00:15:65:AA:BB"}, ("mac", "INVALID")),
        ({"mac": "00-15-65-AA-BB-01"}, ("mac", "INVALID")),
        ({"mac": "0015.65aa.bb01"}, ("mac", "INVALID")),
        ({"mac": "GG:15:65:AA:BB:01"}, ("mac", "INVALID")),
        ({"mac": "01:00:5E:00:00:01"}, ("mac", "INVALID")),
        ({"manufacturer": "acme"}, ("manufacturer", "NOT_FOUND")),
        ({"model": "T99"}, ("model", "NOT_FOUND")),
        ({"firmware": "V1"}, ("firmware", "NOT_FOUND")),
        (
            {"manufacturer": "cisco", "model": "7940", "firmware": "8.x", "protocol": "TFTP"},
            ("applicationVersion", "REQUIRED"),
        ),
        (
            {
                "manufacturer": "cisco",
                "model": "7940",
                "firmware": "8.x",
                "appVersion": "P0S3-08-11-00",
                "protocol": "HTTP",
            },
            ("updateProtocol", "INVALID"),
        ),
        (
            {
                "passwordGeneration": "MANUAL",
                "adminPassword": "Secret12",
                "adminPasswordConfirmation": "Other12",
            },
            ("adminPasswordConfirmation", "MISMATCH"),
        ),
        ({"passwordGeneration": "MANUAL"}, ("adminPassword", "REQUIRED")),
        ({"template": "UHJvdmlzaW9uaW5nVGVtcGxhdGU6OTk5"}, ("templateId", "NOT_FOUND")),
    ],
)
async def test_each_bad_field_is_named_and_nothing_is_saved(gql, tree, phones, variables, expected):
    body = await gql(
        PROVISION, {**device_variables(phones["o1"], MAC), **variables}, token=tree["o1"].token
    )
    payload = body["data"]["provisionDevice"]
    assert expected in codes(payload)
    assert payload["device"] is None
    after = await gql(EXTENSION_DEVICE, {"id": phones["o1"]}, token=tree["o1"].token)
    assert after["data"]["extension"]["device"] is None


@pytest.mark.parametrize(("name", "interval"), [("abc", 1), ("a" * 32, 99999), ("Phone42", 10)])
async def test_boundary_values_are_accepted(gql, tree, phones, name, interval):
    payload = await provision(
        gql, tree["o1"].token, phones["o1"], MAC, name=name, interval=interval
    )
    assert payload["userErrors"] == []
    assert payload["device"]["updateInterval"] == interval


async def test_many_problems_come_back_together(gql, tree, phones):
    body = await gql(
        PROVISION,
        {**device_variables(phones["o1"], "bad"), "name": "x", "interval": 0, "notes": "n" * 2001},
        token=tree["o1"].token,
    )
    fields = {field for field, _ in codes(body["data"]["provisionDevice"])}
    assert fields == {"friendlyName", "mac", "updateInterval", "notes"}


async def test_mac_is_stored_normalized_and_editable(gql, tree, phones):
    await provision(gql, tree["o1"].token, phones["o1"], "00:15:65:aa:bb:01")
    payload = await provision(gql, tree["o1"].token, phones["o1"], "00:15:65:AA:BB:02")
    assert payload["device"]["mac"] == "00:15:65:AA:BB:02"
    assert any(f["name"] == "001565aabb02.cfg" for f in payload["device"]["files"])
    assert not any(f["name"] == "001565aabb01.cfg" for f in payload["device"]["files"])


async def test_duplicate_mac_in_another_tenant_is_refused_without_leaking_it(gql, tree, phones):
    await provision(gql, tree["p2"].token, phones["o3"], MAC)
    payload = await provision(gql, tree["o1"].token, phones["o1"], MAC.lower())
    assert codes(payload) == [("mac", "DUPLICATE_MAC")]
    message = payload["userErrors"][0]["message"]
    assert "0003" not in message and "u4" not in message and "Phone" not in message
    assert "no provisioning link" in message


async def test_the_admin_learns_which_extension_holds_a_duplicate_mac(gql, tree, phones):
    await provision(gql, tree["p2"].token, phones["o3"], MAC)
    payload = await provision(gql, tree["admin"].token, phones["o1"], MAC)
    assert codes(payload) == [("mac", "DUPLICATE_MAC")]
    assert "0003*001" in payload["userErrors"][0]["message"]


async def test_concurrent_saves_of_one_mac_have_exactly_one_winner(gql, tree, phones):
    results = await asyncio.gather(
        provision(gql, tree["o1"].token, phones["o1"], MAC),
        provision(gql, tree["p1"].token, phones["o2"], MAC),
        provision(gql, tree["p2"].token, phones["o3"], MAC),
    )
    winners = [r for r in results if r["device"] is not None]
    assert len(winners) == 1
    assert all(codes(r) == [("mac", "DUPLICATE_MAC")] for r in results if r["device"] is None)


@pytest.mark.parametrize(
    ("viewer_level", "extension_level", "expected"),
    [
        ("MODIFY", "MODIFY", "MODIFY"),
        ("MODIFY", "VIEW", "VIEW"),
        ("MODIFY", "NONE", "NONE"),
        ("VIEW", "MODIFY", "VIEW"),
        ("VIEW", "VIEW", "VIEW"),
        ("VIEW", "NONE", "NONE"),
        ("NONE", "MODIFY", "NONE"),
        ("NONE", "VIEW", "NONE"),
        ("NONE", "NONE", "NONE"),
    ],
)
async def test_access_is_the_lower_of_viewer_and_extension_levels(
    gql, tree, phones, viewer_level, extension_level, expected
):
    await provision(gql, tree["o1"].token, phones["o1"], MAC, passwordGeneration="AUTO")
    await gql(
        SET_EXTENSION_LEVEL,
        {"id": phones["o1"], "level": extension_level},
        token=tree["admin"].token,
    )
    await gql(
        SET_ACCOUNT_LEVEL, {"id": tree["o1"].gid, "level": viewer_level}, token=tree["admin"].token
    )
    seen = (await gql(EXTENSION_DEVICE, {"id": phones["o1"]}, token=tree["o1"].token))["data"][
        "extension"
    ]
    assert seen["viewerProvisioning"] == expected
    if expected == "NONE":
        assert seen["device"] is None
    else:
        assert seen["device"]["friendlyName"] == "DeskPhone"
        readable = expected == "MODIFY"
        assert (seen["device"]["adminPassword"] is not None) is readable
        assert all((f["content"] is not None) is readable for f in seen["device"]["files"])
    attempt = await provision(gql, tree["o1"].token, phones["o1"], MAC, name="Changed")
    assert (attempt["userErrors"] == []) is (expected == "MODIFY")
    if expected != "MODIFY":
        assert codes(attempt) == [("extensionId", "NOT_ALLOWED")]


async def test_the_admin_may_always_provision_whatever_the_extension_level(gql, tree, phones):
    await gql(SET_EXTENSION_LEVEL, {"id": phones["o1"], "level": "NONE"}, token=tree["admin"].token)
    payload = await provision(gql, tree["admin"].token, phones["o1"], MAC)
    assert payload["userErrors"] == []
    assert payload["device"]["viewerProvisioning"] == "MODIFY"


async def test_other_tenants_and_anonymous_get_not_found_or_unauthenticated(gql, tree, phones):
    for actor in ("p2", "o2", "u2"):
        payload = await provision(gql, tree[actor].token, phones["o1"], MAC)
        assert codes(payload) == [("extensionId", "NOT_FOUND")], actor
    body = await gql(PROVISION, device_variables(phones["o1"], MAC))
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_non_phone_extensions_cannot_have_devices(gql, tree):
    queue = await create_extension(gql, tree["o1"].token, tree["u1"].gid, "Queue", type_="QUEUE")
    payload = await provision(gql, tree["o1"].token, queue["extension"]["id"], MAC)
    assert codes(payload) == [("extensionId", "INVALID")]


async def test_auto_password_is_strong_and_kept_until_regenerated(gql, tree, phones):
    first = await provision(gql, tree["o1"].token, phones["o1"], MAC, passwordGeneration="AUTO")
    password = first["device"]["adminPassword"]
    assert len(password) >= 16
    same = await provision(gql, tree["o1"].token, phones["o1"], MAC, passwordGeneration="AUTO")
    assert same["device"]["adminPassword"] == password
    renewed = await provision(
        gql, tree["o1"].token, phones["o1"], MAC, passwordGeneration="AUTO", regenerate=True
    )
    assert renewed["device"]["adminPassword"] != password
    cleared = await provision(gql, tree["o1"].token, phones["o1"], MAC, passwordGeneration="NONE")
    assert cleared["device"]["adminPassword"] is None


async def test_manual_password_lands_in_the_files(gql, tree, phones):
    payload = await provision(
        gql,
        tree["o1"].token,
        phones["o1"],
        MAC,
        passwordGeneration="MANUAL",
        adminPassword="Adm1n-Pw",
        adminPasswordConfirmation="Adm1n-Pw",
    )
    device_file = next(f for f in payload["device"]["files"] if f["name"] == "001565aabb01.cfg")
    assert "Adm1n-Pw" in device_file["content"]


@pytest.mark.parametrize(
    ("allow", "flag", "protocol", "in_force"),
    [
        (a, f, p, a and f and p != "TFTP")
        for a in (True, False)
        for f in (True, False)
        for p in ("TFTP", "HTTP", "HTTPS")
    ],
)
async def test_mac_based_provisioning_is_in_force_only_with_preference_flag_and_http(
    gql, tree, phones, allow, flag, protocol, in_force
):
    await gql(
        PREFERENCES,
        {"allow": allow, "base": "https://prov.example.test"},
        token=tree["admin"].token,
    )
    payload = await provision(
        gql, tree["o1"].token, phones["o1"], MAC, macBased=flag, protocol=protocol
    )
    status = payload["device"]["macBasedProvisioning"]
    assert status["inForce"] is in_force
    assert (status["reason"] is None) is in_force
    kinds = [link["kind"] for link in payload["device"]["provisioningLinks"]]
    assert ("SHARED_ROOT" in kinds) is in_force
    if protocol == "TFTP":
        assert kinds == ["TFTP"]


@pytest.mark.parametrize(
    ("equipment", "expected_kinds", "rule_suffix"),
    [
        (("yealink", "T46S", "V81"), ["DEVICE_DIRECTORY"], None),
        (("polycom", "VVX400", "UCS"), ["DEVICE_DIRECTORY"], None),
        (("snom", "D785", "10.x"), ["DEVICE_DIRECTORY"], None),
        (("aastra", "6731i", "3.x"), ["DEVICE_DIRECTORY"], None),
        (("grandstream", "GXP2135", "1.0.x"), ["DEVICE_DIRECTORY"], None),
        (("fanvil", "X4", "2.x"), ["DEVICE_DIRECTORY"], None),
        (("panasonic", "KX-UT136", "STD"), ["DEVICE_DIRECTORY"], None),
        (("cisco", "SPA504G", "SPA7"), ["DEVICE_DIRECTORY", "PROFILE_RULE"], "/$MA.xml"),
        (("linksys", "SPA942", "SPA6"), ["DEVICE_DIRECTORY", "PROFILE_RULE"], "/$MA.xml"),
    ],
)
async def test_links_take_the_form_each_vendor_needs(
    gql, tree, phones, equipment, expected_kinds, rule_suffix
):
    manufacturer, model, firmware = equipment
    payload = await provision(
        gql,
        tree["o1"].token,
        phones["o1"],
        MAC,
        protocol="HTTP",
        manufacturer=manufacturer,
        model=model,
        firmware=firmware,
    )
    assert payload["userErrors"] == [], payload["userErrors"]
    links = payload["device"]["provisioningLinks"]
    assert [link["kind"] for link in links] == expected_kinds
    assert links[0]["url"].startswith("http://127.0.0.1:8000/prov/")
    if rule_suffix:
        assert links[-1]["url"].endswith(rule_suffix)
        assert links[-1]["url"].startswith(links[0]["url"])


async def test_no_link_and_no_files_while_generation_is_disabled(gql, tree, phones):
    payload = await provision(gql, tree["o1"].token, phones["o1"], MAC, generation=False)
    assert payload["device"]["provisioningLinks"] == []
    assert payload["device"]["files"] == []
    assert payload["device"]["macBasedProvisioning"]["inForce"] is False


async def test_files_follow_sip_preferences_extension_and_global_changes(gql, tree, phones):
    await provision(gql, tree["o1"].token, phones["o1"], MAC)

    async def device_file() -> str:
        body = await gql(EXTENSION_DEVICE, {"id": phones["o1"]}, token=tree["o1"].token)
        return next(
            f["content"]
            for f in body["data"]["extension"]["device"]["files"]
            if f["name"] == "001565aabb01.cfg"
        )

    await gql(
        """mutation($id: ID!) { updateSipPreferences(extensionId: $id, phonePassword: "Line1-Secret-pw",
      phonePasswordConfirmation: "Line1-Secret-pw") { userErrors { code } } }""",
        {"id": phones["o1"]},
        token=tree["o1"].token,
    )
    assert "Line1-Secret-pw" in await device_file()
    await gql(
        'mutation($id: ID!) { updateExtension(id: $id, name: "Front Desk") { userErrors { code } } }',
        {"id": phones["o1"]},
        token=tree["o1"].token,
    )
    assert "Front Desk" in await device_file()
    body = await gql(PREFERENCES, {"registrar": "pbx.example.net"}, token=tree["admin"].token)
    assert body["data"]["updateGlobalPreferences"]["regeneration"]["devices"] == 1
    assert "pbx.example.net" in await device_file()


async def test_rotating_the_key_changes_every_link(gql, tree, phones):
    payload = await provision(gql, tree["o1"].token, phones["o1"], MAC)
    old_link = payload["device"]["provisioningLinks"][0]["url"]
    rotated = await gql(
        """mutation($id: ID!) { rotateDeviceKey(deviceId: $id) {
      device { provisioningLinks { url } } userErrors { code } } }""",
        {"id": payload["device"]["id"]},
        token=tree["o1"].token,
    )
    new_link = rotated["data"]["rotateDeviceKey"]["device"]["provisioningLinks"][0]["url"]
    assert new_link != old_link
    refused = await gql(
        "mutation($id: ID!) { rotateDeviceKey(deviceId: $id) { userErrors { field code } } }",
        {"id": payload["device"]["id"]},
        token=tree["p2"].token,
    )
    assert refused["data"]["rotateDeviceKey"]["userErrors"] == [
        {"field": "deviceId", "code": "NOT_FOUND"}
    ]


async def test_unprovision_removes_the_device_and_its_files(gql, tree, phones, engine):
    from sqlalchemy import text

    await provision(gql, tree["o1"].token, phones["o1"], MAC)
    body = await gql(
        "mutation($id: ID!) { unprovisionDevice(extensionId: $id) { userErrors { code } } }",
        {"id": phones["o1"]},
        token=tree["o1"].token,
    )
    assert body["data"]["unprovisionDevice"]["userErrors"] == []
    async with engine.connect() as connection:
        assert (
            await connection.execute(text("SELECT count(*) FROM rendered_file"))
        ).scalar_one() == 0
    again = await provision(gql, tree["p2"].token, phones["o3"], MAC)
    assert again["userErrors"] == []  # the MAC is free again


async def test_deleting_the_extension_removes_its_device(gql, tree, phones, engine):
    from sqlalchemy import text

    await provision(gql, tree["o1"].token, phones["o1"], MAC)
    await gql(
        "mutation($id: ID!) { deleteExtension(id: $id) { userErrors { code } } }",
        {"id": phones["o1"]},
        token=tree["o1"].token,
    )
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM device"))).scalar_one() == 0


async def test_regenerate_reports_what_it_rendered_for_what_the_viewer_may_modify(
    gql, tree, phones
):
    await provision(gql, tree["o1"].token, phones["o1"], MAC)
    await provision(gql, tree["p2"].token, phones["o3"], "00:15:65:AA:BB:03")
    document = "mutation($all: Boolean) { regenerateProvisioningFiles(all: $all) { summary { devices files failures { reason } } userErrors { code } } }"
    mine = await gql(document, {"all": True}, token=tree["o1"].token)
    assert mine["data"]["regenerateProvisioningFiles"]["summary"]["devices"] == 1
    everything = await gql(document, {"all": True}, token=tree["admin"].token)
    assert everything["data"]["regenerateProvisioningFiles"]["summary"]["devices"] == 2
    neither = await gql(document, {"all": False}, token=tree["admin"].token)
    assert neither["data"]["regenerateProvisioningFiles"]["userErrors"] == [{"code": "INVALID"}]


async def test_device_changes_are_audited_without_secrets(gql, tree, phones):
    await provision(
        gql,
        tree["o1"].token,
        phones["o1"],
        MAC,
        passwordGeneration="MANUAL",
        adminPassword="Adm1n-Pw",
        adminPasswordConfirmation="Adm1n-Pw",
    )
    log = await gql(
        'query { auditLog(objectType: "device") { nodes { actorLogin clientAddress action objectType details } } }',
        token=tree["admin"].token,
    )
    [entry] = log["data"]["auditLog"]["nodes"]
    assert entry["actorLogin"] == "o1"
    assert entry["action"] == "device.create"
    assert entry["clientAddress"] == "203.0.113.7"
    assert "Adm1n-Pw" not in str(log)
    devices_only = 'query { auditLog(objectType: "device") { nodes { action } } }'
    own = await gql(devices_only, token=tree["o1"].token)
    assert own["data"]["auditLog"]["nodes"] == [{"action": "device.create"}]
    hidden = await gql(devices_only, token=tree["o3"].token)
    assert hidden["data"]["auditLog"]["nodes"] == []


async def test_devices_and_device_lookup_by_mac_follow_visibility(gql, tree, phones):
    await provision(gql, tree["o1"].token, phones["o1"], MAC)
    for viewer, visible in [
        ("admin", True),
        ("p1", True),
        ("o1", True),
        ("u1", True),
        ("p2", False),
        ("o2", False),
    ]:
        listed = await gql("query { devices { totalCount } }", token=tree[viewer].token)
        by_mac = await gql(
            'query { device(mac: "00:15:65:aa:bb:01") { mac } }', token=tree[viewer].token
        )
        assert (listed["data"]["devices"]["totalCount"] == 1) is visible, viewer
        assert (by_mac["data"]["device"] is not None) is visible, viewer


PREVIEW = """mutation($device: ID, $source: String) { previewProvisioningFile(manufacturer: "yealink", model: "T46S",
  firmware: "V81", fileName: "{mac}.cfg", deviceId: $device, source: $source) { fileName content userErrors { field code } } }"""


async def test_preview_for_a_device_uses_its_own_data_and_writes_nothing(gql, tree, phones):
    payload = await provision(gql, tree["o1"].token, phones["o1"], MAC)
    device_id = payload["device"]["id"]
    body = (await gql(PREVIEW, {"device": device_id}, token=tree["o1"].token))["data"][
        "previewProvisioningFile"
    ]
    assert body["userErrors"] == []
    assert body["fileName"] == "001565aabb01.cfg"
    assert "account.1.user_name = 0001*001" in body["content"]
    custom = "{% extends server_default %}{% block extra %}custom.key = {{ extension.full_number }}\n{% endblock %}"
    body = (await gql(PREVIEW, {"device": device_id, "source": custom}, token=tree["o1"].token))[
        "data"
    ]["previewProvisioningFile"]
    assert "custom.key = 0001*001" in body["content"]
    files = (await gql(EXTENSION_DEVICE, {"id": phones["o1"]}, token=tree["o1"].token))["data"][
        "extension"
    ]["device"]["files"]
    assert all("custom.key" not in f["content"] for f in files)


async def test_preview_for_a_device_needs_modify_access(gql, tree, phones):
    payload = await provision(gql, tree["o1"].token, phones["o1"], MAC)
    for viewer in ("p2", "u2"):
        body = await gql(PREVIEW, {"device": payload["device"]["id"]}, token=tree[viewer].token)
        assert body["data"]["previewProvisioningFile"]["userErrors"] == [
            {"field": "deviceId", "code": "NOT_FOUND"}
        ]


async def test_an_account_owning_a_template_cannot_be_deleted(gql, tree):
    await gql(
        'mutation { createProvisioningTemplate(name: "Mine") { userErrors { code } } }',
        token=tree["o1"].token,
    )
    body = await gql(
        "mutation($id: ID!) { deleteAccount(id: $id) { userErrors { code message } } }",
        {"id": tree["o1"].gid},
        token=tree["p1"].token,
    )
    messages = [e["message"] for e in body["data"]["deleteAccount"]["userErrors"]]
    assert any("child account" in m or "template" in m for m in messages)
