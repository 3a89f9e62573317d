"""Lines and their provisioned Yealink phones, arranged through a live server's API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from device_fixtures import provision
from extension_fixtures import create_extension

__all__ = ["Phone", "add_phone", "set_registrar"]

SET_PHONE_PASSWORD = """mutation($id: ID!, $pw: String!) {
  updateSipPreferences(extensionId: $id, phonePassword: $pw, phonePasswordConfirmation: $pw) {
    userErrors { code } } }"""
SET_REGISTRAR = """mutation($registrar: String) {
  updateGlobalPreferences(registrarHost: $registrar) { userErrors { code } } }"""


@dataclass(frozen=True)
class Phone:
    """A phone-terminal line with a Yealink T46S on it, fetched over HTTP."""

    extension_id: str
    device_id: str
    password: str
    url: str  # its per-device file under /prov/{key}/


async def set_registrar(gql: Any, admin_token: str) -> None:
    body = await gql(SET_REGISTRAR, {"registrar": "pbx.example.net"}, token=admin_token)
    assert body["data"]["updateGlobalPreferences"]["userErrors"] == [], body


async def add_phone(gql: Any, token: str, owner_gid: str, name: str, mac: str) -> Phone:
    """A new line of `owner` named `name`, with a phone password and a device with this MAC."""
    extension = (await create_extension(gql, token, owner_gid, name))["extension"]
    password = f"Kx7-Qm2v-{mac[-2:]}Lw"
    body = await gql(SET_PHONE_PASSWORD, {"id": extension["id"], "pw": password}, token=token)
    assert body["data"]["updateSipPreferences"]["userErrors"] == [], body
    payload = await provision(gql, token, extension["id"], mac, protocol="HTTP")
    assert payload["userErrors"] == [], payload
    device = payload["device"]
    [link] = [link for link in device["provisioningLinks"] if link["kind"] == "DEVICE_DIRECTORY"]
    url = urlsplit(link["url"]).path + mac.replace(":", "") + ".cfg"
    return Phone(extension["id"], device["id"], password, url)
