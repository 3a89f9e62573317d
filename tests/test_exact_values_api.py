"""A value a vendor's files cannot carry exactly is refused on save, on its field, naming the
character and the vendor; the phone never holds another value than the server stores."""

from __future__ import annotations

from typing import Any

import pytest
from account_tree import Member, build_tree
from device_fixtures import provision
from extension_fixtures import create_extension

SET_PASSWORD = """mutation($ext: ID!, $pw: String, $useInterface: Boolean, $interface: String) {
  updateSipPreferences(extensionId: $ext, phonePassword: $pw, phonePasswordConfirmation: $pw,
      useInterfacePassword: $useInterface, interfacePassword: $interface) {
    userErrors { field code message } } }"""
RENAME = """mutation($ext: ID!, $name: String) { updateExtension(id: $ext, name: $name) {
  extension { name } userErrors { field code message } } }"""
SET_ACCOUNT_PASSWORD = """mutation($id: ID!, $pw: String) { updateAccount(id: $id, password: $pw) {
  userErrors { field code message } } }"""
FILES = """query($ext: ID!) { extension(id: $ext) { name device { files { name content } } } }"""
CISCO = {"manufacturer": "cisco", "model": "7940", "firmware": "8.x", "appVersion": "P0S3-08-11-00"}
PANASONIC = {"manufacturer": "panasonic", "model": "KX-UT136", "firmware": "STD"}
QUOTED = 'Ab3"quoted'
MAC = "00:15:65:AA:BB:07"
CISCO_MAC = "00:30:94:AA:BB:07"
PANASONIC_MAC = "08:00:23:AA:BB:07"


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


@pytest.fixture
async def extension(gql: Any, tree: dict[str, Member]) -> str:
    payload = await create_extension(gql, tree["o1"].token, tree["u1"].gid, "Phone Seven")
    extension_id: str = payload["extension"]["id"]
    return extension_id


def _errors(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


async def _set_password(gql: Any, token: str, extension: str, **variables: Any) -> dict[str, Any]:
    body = await gql(SET_PASSWORD, {"ext": extension, **variables}, token=token)
    payload: dict[str, Any] = body["data"]["updateSipPreferences"]
    return payload


async def _files(gql: Any, token: str, extension: str) -> str:
    body = await gql(FILES, {"ext": extension}, token=token)
    return "\n".join(f["content"] for f in body["data"]["extension"]["device"]["files"])


async def test_a_phone_password_a_cisco_cnf_cannot_carry_is_refused_naming_both(
    gql, tree, extension
):
    token = tree["o1"].token
    payload = await provision(gql, token, extension, CISCO_MAC, protocol="TFTP", **CISCO)
    assert payload["userErrors"] == [], payload
    before = await _files(gql, token, extension)
    refused = await _set_password(gql, token, extension, pw=QUOTED)
    assert _errors(refused) == [("phonePassword", "UNSUPPORTED_CHARACTER")]
    message = refused["userErrors"][0]["message"]
    assert 'the character " (U+0022)' in message and "Cisco" in message
    assert await _files(gql, token, extension) == before  # nothing saved, nothing rendered
    accepted = await _set_password(gql, token, extension, pw="Ab3'quoted")
    assert accepted["userErrors"] == []
    assert 'line1_password: "Ab3\'quoted"' in await _files(gql, token, extension)


async def test_an_xml_vendor_carries_the_same_password_exactly(gql, tree, extension):
    token = tree["o1"].token
    payload = await provision(gql, token, extension, MAC)  # Yealink: key = value
    assert payload["userErrors"] == []
    assert (await _set_password(gql, token, extension, pw=QUOTED))["userErrors"] == []
    assert f"account.1.password = {QUOTED}\n" in await _files(gql, token, extension)


async def test_an_admin_password_panasonic_cannot_carry_is_refused(gql, tree, extension):
    payload = await provision(
        gql,
        tree["o1"].token,
        extension,
        PANASONIC_MAC,
        passwordGeneration="MANUAL",
        adminPassword='Adm"in99',
        adminPasswordConfirmation='Adm"in99',
        **PANASONIC,
    )
    assert _errors(payload) == [("adminPassword", "UNSUPPORTED_CHARACTER")]
    assert "Panasonic" in payload["userErrors"][0]["message"]
    assert payload["device"] is None


async def test_choosing_a_vendor_that_cannot_carry_the_stored_password_is_refused(
    gql, tree, extension
):
    token = tree["o1"].token
    assert (await _set_password(gql, token, extension, pw=QUOTED))["userErrors"] == []
    payload = await provision(gql, token, extension, PANASONIC_MAC, **PANASONIC)
    assert _errors(payload) == [("manufacturer", "UNSUPPORTED_CHARACTER")]
    assert "password" in payload["userErrors"][0]["message"]
    yealink = await provision(gql, token, extension, MAC)
    assert yealink["userErrors"] == []
    switched = await provision(gql, token, extension, PANASONIC_MAC, **PANASONIC)
    assert _errors(switched) == [("manufacturer", "UNSUPPORTED_CHARACTER")]


async def test_an_extension_name_the_device_cannot_show_exactly_is_refused(gql, tree, extension):
    token = tree["o1"].token
    assert (await provision(gql, token, extension, PANASONIC_MAC, **PANASONIC))["userErrors"] == []
    body = await gql(RENAME, {"ext": extension, "name": 'Front "Desk"'}, token=token)
    payload = body["data"]["updateExtension"]
    assert _errors(payload) == [("name", "UNSUPPORTED_CHARACTER")]
    assert "Panasonic" in payload["userErrors"][0]["message"]
    files = await _files(gql, token, extension)
    assert 'DISPLAY_NAME_1="Phone Seven"' in files


async def test_an_interface_password_followed_by_a_cisco_phone_is_refused(gql, tree, extension):
    token = tree["o1"].token
    assert (await provision(gql, token, extension, CISCO_MAC, protocol="TFTP", **CISCO))[
        "userErrors"
    ] == []
    follow = await _set_password(
        gql, token, extension, useInterface=True, interface=tree["u1"].password
    )
    assert follow["userErrors"] == []
    body = await gql(
        SET_ACCOUNT_PASSWORD, {"id": tree["u1"].gid, "pw": 'New"Secret-4821'}, token=token
    )
    payload = body["data"]["updateAccount"]
    assert _errors(payload) == [("password", "UNSUPPORTED_CHARACTER")]
    assert f'line1_password: "{tree["u1"].password}"' in await _files(gql, token, extension)
