"""HTTPS offered only where it is served, and warnings where the operator looks."""

from __future__ import annotations

from typing import Any

import pytest
from account_tree import build_tree
from device_fixtures import provision
from extension_fixtures import create_extension
from sqlalchemy import text

WARNINGS = "{ globalPreferences { baseUrl warnings { code message advice } } }"
LINKS = """query($mac: String!) { device(mac: $mac) {
  updateProtocol provisioningLinks { url warning { code advice } } } }"""
MAC = "00:15:65:aa:bb:31"


async def line(gql: Any, tree: Any) -> str:
    payload = await create_extension(gql, tree["o1"].token, tree["u1"].gid, "Desk")
    extension_id: str = payload["extension"]["id"]
    return extension_id


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> Any:
    return await build_tree(session_factory, services)


def codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


async def test_choosing_https_without_tls_served_is_refused_naming_the_field(gql, tree):
    payload = await provision(gql, tree["o1"].token, await line(gql, tree), MAC, protocol="HTTPS")
    assert codes(payload) == [("updateProtocol", "INVALID")]
    assert payload["device"] is None


async def test_a_device_already_on_https_is_flagged_not_broken(gql, tree, engine):
    extension = await line(gql, tree)
    assert (await provision(gql, tree["o1"].token, extension, MAC))["userErrors"] == []
    async with engine.begin() as connection:  # saved by an earlier version
        await connection.execute(text("UPDATE device SET update_protocol = 'HTTPS'"))
    changed = await provision(gql, tree["o1"].token, extension, MAC, name="Renamed")
    assert changed["userErrors"] == []
    body = await gql(LINKS, {"mac": MAC}, token=tree["o1"].token)
    [link] = body["data"]["device"]["provisioningLinks"]
    assert body["data"]["device"]["updateProtocol"] == "HTTPS"
    assert link["warning"]["code"] == "HTTPS_NOT_SERVED"


async def test_a_client_certificate_is_required_over_https_only(gql, tree):
    extension = await line(gql, tree)
    payload = await gql(
        """mutation($id: ID!) { provisionDevice(extensionId: $id, friendlyName: "Desk",
             manufacturer: "yealink", model: "T46S", firmware: "V81", mac: "00:15:65:aa:bb:32",
             updateProtocol: HTTP, requireClientCertificate: true) {
             device { id } userErrors { field code } } }""",
        {"id": extension},
        token=tree["o1"].token,
    )
    result = payload["data"]["provisionDevice"]
    assert codes(result) == [("requireClientCertificate", "INVALID")]


async def test_global_preferences_list_the_placeholders_a_phone_cannot_use(gql, tree):
    body = await gql(WARNINGS, token=tree["admin"].token)
    preferences = body["data"]["globalPreferences"]
    found = {warning["code"] for warning in preferences["warnings"]}
    assert {"REGISTRAR_PLACEHOLDER", "BASE_URL_UNREACHABLE"} <= found
    assert preferences["baseUrl"] == ""  # derived from where the server listens
    assert all(warning["advice"] for warning in preferences["warnings"])
    await gql(
        'mutation { updateGlobalPreferences(registrarHost: "pbx.voip-operator.com") '
        "{ userErrors { code } } }",
        token=tree["admin"].token,
    )
    body = await gql(WARNINGS, token=tree["admin"].token)
    found = {warning["code"] for warning in body["data"]["globalPreferences"]["warnings"]}
    assert "REGISTRAR_PLACEHOLDER" not in found
