"""A real `magnaprov serve`: links and files name where it listens; HTTPS served natively, and
devices that require their factory certificate served to that certificate only."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
from account_tree import build_tree
from certificates import Authority
from conftest import GraphQL
from device_fixtures import YEALINK
from device_fixtures import provision as provision_device
from extension_fixtures import create_extension
from live_process import free_port, serve_process, wait_until
from sqlalchemy.ext.asyncio import AsyncEngine

MAC = "00:15:65:AA:BB:01"
FILE = "001565aabb01.cfg"
PROVISION = """
mutation($extension: ID!, $mac: String!, $manufacturer: String, $model: String,
         $firmware: String, $protocol: UpdateProtocol, $certificate: Boolean) {
  provisionDevice(extensionId: $extension, friendlyName: "DeskPhone", mac: $mac,
      manufacturer: $manufacturer, model: $model, firmware: $firmware,
      updateProtocol: $protocol, requireClientCertificate: $certificate) {
    device { updateProtocol requireClientCertificate provisioningLinks { kind url warning { code } } }
    userErrors { field code }
  }
}"""


async def healthy(http: httpx.AsyncClient) -> bool:
    return (await http.get("/healthz")).status_code == 200


async def new_lines(
    gql: Any, session_factory: Any, services: Any, *names: str
) -> tuple[str, list[str]]:
    """Phone-terminal extensions of u1, arranged in-process (nothing is rendered yet), and the
    token of their organization."""
    tree = await build_tree(session_factory, services)
    token = tree["o1"].token
    created = [await create_extension(gql, token, tree["u1"].gid, name) for name in names]
    return token, [payload["extension"]["id"] for payload in created]


async def provision(
    live: GraphQL, token: str, extension: str, mac: str, **extra: Any
) -> dict[str, Any]:
    body = await live(PROVISION, {"extension": extension, "mac": mac, **YEALINK, **extra}, token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["provisionDevice"]
    assert payload["userErrors"] == [], payload
    return payload["device"]


def database_url(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=False)


async def test_a_server_on_another_port_gives_links_and_files_naming_that_port(
    engine, gql, session_factory, services, tmp_path
):
    token, [extension] = await new_lines(gql, session_factory, services, "Desk")
    with serve_process(database_url(engine), tmp_path) as (_process, url):
        assert not url.endswith(":8000")
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await wait_until(lambda: healthy(http), 30)
            payload = await provision_device(GraphQL(http), token, extension, MAC)
            [link] = payload["device"]["provisioningLinks"]
            assert link["url"].startswith(f"{url}/prov/")
            assert payload["device"]["updateProtocol"] == "HTTP"  # no TLS served: not HTTPS
            answer = await http.get(link["url"] + FILE)
    assert answer.status_code == 200
    assert f"auto_provision.server.url = {link['url']}" in answer.text


class Pki:
    """A server certificate, and the factory certificates of phones of two vendors."""

    def __init__(self, folder: Path) -> None:
        server_ca = Authority.create("Server", folder / "server")
        self.server_ca = server_ca.write_bundle(folder / "server" / "ca.pem")
        self.server = server_ca.issue("server", "127.0.0.1", ips=("127.0.0.1",))
        yealink = Authority.create("Yealink", folder / "yealink")
        polycom = Authority.create("Polycom", folder / "polycom")
        stranger = Authority.create("Unknown", folder / "unknown")
        self.ca_dir = folder / "device-ca"
        yealink.write_bundle(self.ca_dir / "yealink.pem")
        polycom.write_bundle(self.ca_dir / "polycom.pem")
        self.right_phone = yealink.issue("right", "Yealink 00:15:65:aa:bb:01")
        self.same_vendor_other_phone = yealink.issue("other", "001565aabb02")
        self.other_vendor = polycom.issue("polycom", "x", dns=("001565AABB01.phones.test",))
        self.unknown_ca = stranger.issue("unknown", "001565aabb01")

    def client(self, base_url: str, phone: Any = None) -> httpx.AsyncClient:
        context = ssl.create_default_context(cafile=self.server_ca)
        if phone is not None:
            context.load_cert_chain(phone.cert, phone.key)
        return httpx.AsyncClient(base_url=base_url, verify=context, timeout=30)


async def test_https_is_served_beside_http_and_a_device_requiring_its_certificate_gets_only_that(
    engine, gql, session_factory, services, tmp_path
):
    pki = Pki(tmp_path / "pki")
    token, [locked, other] = await new_lines(gql, session_factory, services, "Locked", "Open")
    https_port = free_port()
    environment = {
        "MAGNAPROV_TLS_CERT_FILE": str(pki.server.cert),
        "MAGNAPROV_TLS_KEY_FILE": str(pki.server.key),
        "MAGNAPROV_HTTPS_PORT": str(https_port),
        "MAGNAPROV_DEVICE_CA_DIR": str(pki.ca_dir),
    }
    secure = f"https://127.0.0.1:{https_port}"
    with serve_process(database_url(engine), tmp_path, **environment) as (_process, url):
        async with pki.client(secure) as https, httpx.AsyncClient(base_url=url) as http:
            await wait_until(lambda: healthy(http), 30)
            await wait_until(lambda: healthy(https), 30)
            device = await provision(
                GraphQL(https), token, locked, MAC, protocol="HTTPS", certificate=True
            )
            assert device["requireClientCertificate"] is True
            [link] = device["provisioningLinks"]
            assert link["url"].startswith(f"{secure}/prov/")
            # HTTPS is served; only the loopback address is flagged.
            assert link["warning"] == {"code": "UNREACHABLE_ADDRESS"}
            open_device = await provision(GraphQL(http), token, other, "00:15:65:aa:bb:09")
            assert open_device["updateProtocol"] == "HTTPS"  # the default, now that it is served
            open_device = await provision(
                GraphQL(http), token, other, "00:15:65:aa:bb:09", protocol="HTTP"
            )
            [open_link] = open_device["provisioningLinks"]
            plain_open = await http.get(open_link["url"] + "001565aabb09.cfg")
            secure_open = await https.get(
                open_link["url"].replace(url, secure) + "001565aabb09.cfg"
            )
            path = link["url"].removeprefix(secure) + FILE
            answers = {"plain HTTP": (await http.get(path)).status_code}
            answers["no certificate"] = (await https.get(path)).status_code
            for label, phone in (
                ("right phone", pki.right_phone),
                ("same vendor, other phone", pki.same_vendor_other_phone),
                ("other vendor's CA", pki.other_vendor),
            ):
                async with pki.client(secure, phone) as client:
                    answers[label] = (await client.get(path)).status_code
            async with pki.client(secure, pki.unknown_ca) as client:
                with pytest.raises(httpx.TransportError):
                    await client.get(path)  # a CA nobody configured fails the handshake
    assert (plain_open.status_code, secure_open.status_code) == (200, 200)
    assert answers == {
        "plain HTTP": 404,
        "no certificate": 404,
        "right phone": 200,
        "same vendor, other phone": 404,
        "other vendor's CA": 404,
    }
    assert "Traceback" not in (tmp_path / "server.log").read_text()
