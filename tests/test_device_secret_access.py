"""Who sees what reveals a device's files: its key, links, contents, admin and Digest secrets.

A viewer with VIEW access sees that the phone exists, its equipment, status and last contact;
only MODIFY (and the admin) get anything that leads to a byte of its files.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from account_tree import Member, build_tree
from extension_fixtures import create_extension

PROVISION = """mutation($extension: ID!) {
  provisionDevice(extensionId: $extension, friendlyName: "DeskPhone", manufacturer: "yealink",
      model: "T46S", firmware: "V81", mac: "00:15:65:AA:BB:01", useMacBasedProvisioning: true,
      updateProtocol: HTTP, passwordGeneration: AUTO, httpAuthentication: true) {
    device { id adminPassword httpAuthPassword provisioningLinks { kind url } }
    userErrors { field code message } } }"""
ALLOW_MAC = """mutation { updateGlobalPreferences(allowMacBasedProvisioning: true) {
  userErrors { field message } } }"""
SET_ACCOUNT_LEVEL = """mutation($id: ID!, $level: ProvisioningLevel) {
  setAccountPermissions(id: $id, provisioning: $level) { userErrors { field code } } }"""
DEVICE_FIELDS = """fragment D on Device {
  mac manufacturer model firmware viewerProvisioning lastContact { at }
  macBasedProvisioning { inForce }
  adminPassword httpAuthUsername httpAuthPassword
  provisioningLinks { kind protocol url } files { name size etag content } }"""
READS = {
    "extension": "query($ext: ID!) { extension(id: $ext) { device { ...D } } }",
    "device": "query($dev: ID!) { device(id: $dev) { ...D } }",
    "deviceByMac": 'query { device(mac: "00:15:65:aa:bb:01") { ...D } }',
    "devices": "query { devices(first: 5) { nodes { ...D } edges { node { ...D } } } }",
    "node": "query($dev: ID!) { node(id: $dev) { ... on Device { ...D } } }",
    "extensions": "query { extensions(first: 5) { nodes { device { ...D } } } }",
}
RENAME = """mutation($ext: ID!) { updateExtension(id: $ext, name: "Renamed Phone") {
  extension { device { ...D } } userErrors { field code } } }"""

# (viewer, provisioning level set on it by the admin; None leaves the standard tree's)
ROLES = [
    ("admin", None),
    ("p1", "MODIFY"),
    ("p1", "VIEW"),
    ("o1", "MODIFY"),
    ("o1", "VIEW"),
    ("u1", "MODIFY"),
    ("u1", "VIEW"),
]


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


@pytest.fixture
async def phone(gql: Any, tree: dict[str, Member]) -> dict[str, Any]:
    """u1's phone extension with a device that has every secret: key, admin and Digest."""
    extension = await create_extension(gql, tree["o1"].token, tree["u1"].gid, "Phone One")
    extension_id = extension["extension"]["id"]
    assert "errors" not in await gql(ALLOW_MAC, token=tree["admin"].token)
    body = await gql(PROVISION, {"extension": extension_id}, token=tree["o1"].token)
    payload = body["data"]["provisionDevice"]
    assert payload["userErrors"] == [], payload
    device = payload["device"]
    key = device["provisioningLinks"][0]["url"].rstrip("/").rsplit("/", 1)[-1]
    # HTTP Digest keeps it off the shared root: its own directory is its only link.
    assert {link["kind"] for link in device["provisioningLinks"]} == {"DEVICE_DIRECTORY"}
    return {
        "extension": extension_id,
        "device": device["id"],
        "secrets": [key, device["adminPassword"], device["httpAuthPassword"]],
    }


async def _set_level(gql: Any, tree: dict[str, Member], viewer: str, level: str | None) -> None:
    if level is None:
        return
    body = await gql(
        SET_ACCOUNT_LEVEL, {"id": tree[viewer].gid, "level": level}, token=tree["admin"].token
    )
    assert body["data"]["setAccountPermissions"]["userErrors"] == [], body


def _devices(answer: Any) -> list[dict[str, Any]]:
    """Every Device object in an answer, wherever it sits."""
    if isinstance(answer, list):
        return [found for item in answer for found in _devices(item)]
    if not isinstance(answer, dict):
        return []
    own = [answer] if "viewerProvisioning" in answer else []
    return own + [found for value in answer.values() for found in _devices(value)]


def _check(answer: Any, modify: bool, secrets: list[str]) -> None:
    devices = _devices(answer)
    assert devices, answer
    text = json.dumps(answer)
    for device in devices:
        assert device["mac"] == "00:15:65:AA:BB:01" and device["model"] == "T46S"
        assert device["viewerProvisioning"] == ("MODIFY" if modify else "VIEW")
        assert device["files"], device  # the names and sizes stay visible
        if modify:
            assert device["adminPassword"] and device["httpAuthPassword"]
            assert device["httpAuthUsername"]
            assert {link["kind"] for link in device["provisioningLinks"]} == {"DEVICE_DIRECTORY"}
            assert all(file["content"] and file["etag"] for file in device["files"])
        else:
            assert device["adminPassword"] is None
            assert device["httpAuthUsername"] is None and device["httpAuthPassword"] is None
            assert device["provisioningLinks"] == []  # no key, and no MAC-based shared root
            # Not even a hash of the bytes: with the Server default's text public, an etag
            # would let a guessed phone password be checked offline.
            assert all(f["content"] is None and f["etag"] is None for f in device["files"])
    for secret in secrets:
        assert (secret in text) is modify


@pytest.mark.parametrize(("viewer", "level"), ROLES)
async def test_only_viewers_who_may_modify_get_what_reveals_the_files(
    gql, tree, phone, viewer, level
):
    await _set_level(gql, tree, viewer, level)
    modify = level != "VIEW"
    variables = {"ext": phone["extension"], "dev": phone["device"]}
    for name, query in READS.items():
        used = {k: v for k, v in variables.items() if f"${k}" in query}
        body = await gql(f"{query}\n{DEVICE_FIELDS}", used, token=tree[viewer].token)
        assert "errors" not in body, (name, body)
        _check(body["data"], modify, phone["secrets"])


@pytest.mark.parametrize(("viewer", "level"), [r for r in ROLES if r[0] in {"p1", "o1"}])
async def test_a_mutation_payload_holding_the_device_follows_the_same_rule(
    gql, tree, phone, viewer, level
):
    await _set_level(gql, tree, viewer, level)
    body = await gql(
        f"{RENAME}\n{DEVICE_FIELDS}", {"ext": phone["extension"]}, token=tree[viewer].token
    )
    payload = body["data"]["updateExtension"]
    assert payload["userErrors"] == [], payload
    _check(payload, level == "MODIFY", phone["secrets"])
