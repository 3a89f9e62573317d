"""Every "provision from here next" setting of every Server default file, read the way its phone
reads it, names a place that answers: the device's own file comes back from it, over HTTP from a
real uvicorn, over HTTPS through the app, over TFTP from the real TFTP server with curl's client.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from account_tree import Member, build_tree
from conftest import make_settings
from phone_simulators import add_line, live_server, loopback_socket, set_preferences
from resync_readers import NO_TFTP_PORT_SETTING, READERS, Phone
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.resolvers import rendering
from magnaprov.serve.app import create_app
from magnaprov.serve.contact_recorder import ContactRecorder
from magnaprov.serve.file_store import FileStore
from magnaprov.serve.tftp_service import TftpService
from magnaprov.settings import Settings
from magnaprov.templating import Equipment, FileFormat, load_catalog

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl (apt: curl)")

CATALOG = load_catalog()
EQUIPMENT = list(CATALOG.equipment())
MANUFACTURERS = sorted({equipment.manufacturer.key for equipment in EQUIPMENT})
REGISTRAR = "pbx.example.net"
LOOPBACK = "127.0.0.1"

PROVISION = """
mutation($extension: ID!, $mac: String, $manufacturer: String, $model: String, $firmware: String,
         $appVersion: String, $protocol: UpdateProtocol, $macBased: Boolean) {
  provisionDevice(extensionId: $extension, friendlyName: "Desk42", mac: $mac,
      manufacturer: $manufacturer, model: $model, firmware: $firmware,
      applicationVersion: $appVersion, updateProtocol: $protocol,
      useMacBasedProvisioning: $macBased) {
    device { files { name content } }
    userErrors { field code message }
  }
}"""
BASE_URL = "mutation($url: String, $tftp: String) { updateGlobalPreferences(baseUrl: $url, tftpHost: $tftp) { userErrors { field code message } } }"


# --- the servers --------------------------------------------------------------------------------


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def http_socket() -> socket.socket:
    return loopback_socket()


@pytest.fixture
def settings(
    engine: AsyncEngine, http_socket: socket.socket, tmp_path: Path, monkeypatch: Any
) -> Settings:
    """Listeners on loopback, none on its protocol's default port; TLS served on its own port.
    Files are rendered with these settings, as `serve` renders with its own."""
    https_port = loopback_socket()
    configured = make_settings(
        engine.url.render_as_string(hide_password=False),
        host=LOOPBACK,
        port=http_socket.getsockname()[1],
        https_port=https_port.getsockname()[1],
        tls_cert_file=tmp_path / "cert.pem",
        tls_key_file=tmp_path / "key.pem",
        tftp_host=LOOPBACK,
        tftp_port=_free_udp_port(),
        contact_flush_seconds=3600,
    )
    https_port.close()
    monkeypatch.setattr(rendering, "get_settings", lambda: configured)
    return configured


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


@dataclass
class Servers:
    """Where the phone fetches: uvicorn for HTTP, the app in-process for HTTPS, TFTP."""

    settings: Settings
    http: httpx.AsyncClient
    https: httpx.AsyncClient
    tftp_port: int

    async def fetch(self, url: str, manufacturer: str) -> bytes | None:
        """What the phone gets from `url`; asserts it is where this server listens."""
        parts = urlsplit(url)
        if parts.scheme == "tftp":
            port = parts.port or 69
            if manufacturer in NO_TFTP_PORT_SETTING:
                assert parts.port is None, url
                port = self.tftp_port
            assert (parts.hostname, port) == (LOOPBACK, self.settings.tftp_port), url
            return await _curl_tftp(port, parts.path.lstrip("/"))
        expected = {"http": self.settings.port, "https": self.settings.https_port}
        assert parts.scheme in expected, url
        assert (parts.hostname, parts.port) == (LOOPBACK, expected[parts.scheme]), url
        client = self.http if parts.scheme == "http" else self.https
        response = await client.get(url)
        return response.content if response.status_code == 200 else None


async def _curl_tftp(port: int, name: str) -> bytes | None:
    process = await asyncio.create_subprocess_exec(
        "curl",
        "-sS",
        "--max-time",
        "5",
        f"tftp://{LOOPBACK}:{port}/{name}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    body, _ = await process.communicate()
    return body if process.returncode == 0 else None


@pytest.fixture
async def servers(
    engine: AsyncEngine,
    services: Any,
    settings: Settings,
    http_socket: socket.socket,
    gql: Any,
    tree: dict[str, Member],
) -> AsyncIterator[Servers]:
    await set_preferences(
        gql,
        tree["admin"].token,
        allow=True,
        registrar=REGISTRAR,
        tftp=True,
        networks=["127.0.0.0/8"],
    )
    store = FileStore(engine, services.secrets)
    service = TftpService(
        engine, store, ContactRecorder(engine, 3600), host=LOOPBACK, port=settings.tftp_port
    )
    await store.start()
    app = create_app(settings, engine)
    try:
        await service.reconcile()
        assert service.server is not None
        async with (
            live_server(app, http_socket) as live,
            httpx.AsyncClient() as http,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as https,
        ):
            assert live.base_url == f"http://{LOOPBACK}:{settings.port}"
            yield Servers(settings, http, https, service.server.address[1])
    finally:
        await service.stop()
        await store.stop()


# --- the devices --------------------------------------------------------------------------------


@dataclass
class Rendered:
    equipment: Equipment
    protocol: str
    phone: Phone
    files: dict[str, str]  # name -> content

    @property
    def main_file(self) -> str:
        spec = next(spec for spec in self.equipment.firmware.files if spec.role == "device")
        return spec.pattern.replace("{mac}", self.phone.mac_lower).replace(
            "{MAC}", self.phone.mac_lower.upper()
        )


async def provision_each(
    gql: Any, tree: dict[str, Member], equipment: list[Equipment]
) -> AsyncIterator[Rendered]:
    """One device per equipment and protocol, on one extension re-provisioned each time."""
    token = tree["o1"].token
    line = await add_line(gql, token, tree["u1"].gid, "Resync Desk", "Resync-Secret-1")
    serial = 0
    for item in equipment:
        for protocol in item.model.protocols:
            serial += 1
            prefix = item.manufacturer.mac_prefixes[0]
            mac = f"{prefix}:{serial >> 8 & 0xFF:02x}:{serial & 0xFF:02x}:5e"
            body = await gql(
                PROVISION,
                {
                    "extension": line.extension_id,
                    "mac": mac,
                    "manufacturer": item.manufacturer.key,
                    "model": item.model.key,
                    "firmware": item.firmware.key,
                    "appVersion": "P0S3-08-11-00",
                    "protocol": protocol,
                    "macBased": protocol != "TFTP",
                },
                token=token,
            )
            payload = body["data"]["provisionDevice"]
            assert payload["userErrors"] == [], (item.keys, protocol, payload["userErrors"])
            files = {file["name"]: file["content"] for file in payload["device"]["files"]}
            phone = Phone(mac.replace(":", ""), item.model.key)
            yield Rendered(item, protocol, phone, files)


def provision_from(rendered: Rendered) -> list[tuple[str, str]]:
    """(file, URL) of every "provision from" setting in the device's files."""
    reader = READERS[rendered.equipment.manufacturer.key]
    found = []
    for spec in rendered.equipment.firmware.files:
        if spec.format is FileFormat.CISCO_CNF:
            continue  # 79x0 files name no server: DHCP option 150 gives their TFTP server
        name = spec.pattern.replace("{mac}", rendered.phone.mac_lower).replace(
            "{MAC}", rendered.phone.mac_lower.upper()
        )
        for url in reader(rendered.files[name].encode(), rendered.phone):
            found.append((name, url))
    return found


def absolute(url: str) -> str:
    return url if "://" in url else f"tftp://{LOOPBACK}{url}"  # the option 66 server


# --- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("manufacturer", MANUFACTURERS)
async def test_every_provision_from_setting_of_every_file_answers_with_the_devices_own_file(
    manufacturer: str, gql: Any, tree: dict[str, Member], servers: Servers
) -> None:
    equipment = [item for item in EQUIPMENT if item.manufacturer.key == manufacturer]
    problems = []
    async for rendered in provision_each(gql, tree, equipment):
        settings = provision_from(rendered)
        if rendered.equipment.model.protocols != ("TFTP",):
            assert settings, (rendered.equipment.keys, rendered.protocol)
        for name, url in settings:
            url = absolute(url)
            scheme = urlsplit(url).scheme
            target = url + rendered.main_file if url.endswith("/") else url
            got = await servers.fetch(target, manufacturer)
            expected = rendered.files[rendered.main_file].encode()
            if scheme != rendered.protocol.lower() or got != expected:
                problems.append((rendered.equipment.keys, rendered.protocol, name, url))
    assert problems == []


FAMILIES = [
    next(item for item in EQUIPMENT if item.keys == keys)
    for keys in (
        ("yealink", "T46S", "V81"),
        ("yealink", "T46G", "V80"),
        ("polycom", "VVX400", "UCS"),
        ("polycom", "SPIP335", "3.x"),
        ("cisco", "SPA504G", "SPA7"),
        ("linksys", "SPA942", "SPA6"),
        ("snom", "D785", "10.x"),
        ("aastra", "6731i", "3.x"),
        ("grandstream", "GXP2135", "1.0.x"),
        ("fanvil", "X4", "2.x"),
        ("panasonic", "KX-UT136", "STD"),
    )
]


async def test_a_public_address_on_non_default_ports_is_named_with_those_ports(
    gql: Any, tree: dict[str, Member], servers: Servers
) -> None:
    public, tftp = "prov.example.test", "tftp.example.test"
    body = await gql(
        BASE_URL, {"url": f"http://{public}:8081", "tftp": tftp}, token=tree["admin"].token
    )
    assert body["data"]["updateGlobalPreferences"]["userErrors"] == []
    named = set()
    async for rendered in provision_each(gql, tree, FAMILIES):
        for name, url in provision_from(rendered):
            parts = urlsplit(absolute(url))
            manufacturer = rendered.equipment.manufacturer.key
            if parts.scheme == "tftp" and manufacturer in NO_TFTP_PORT_SETTING:
                named.add((parts.scheme, parts.hostname, servers.settings.tftp_port))
                continue
            named.add((parts.scheme, parts.hostname, parts.port))
            assert parts.scheme == rendered.protocol.lower(), (rendered.equipment.keys, name, url)
    assert named == {
        ("http", public, 8081),
        ("https", public, 8081),
        ("tftp", tftp, servers.settings.tftp_port),
    }
