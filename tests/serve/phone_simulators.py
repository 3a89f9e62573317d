"""Simulated phones (boot sequences from docs/reference phones.md), the real server they talk
to, and the helpers the device-route tests share to arrange tenants and devices."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn
from extension_fixtures import create_extension
from starlette.types import ASGIApp

REGISTRAR = "pbx.example.net"
PREFERENCES = """mutation($allow: Boolean, $registrar: String, $tftp: Boolean, $networks: [String!]) {
  updateGlobalPreferences(allowMacBasedProvisioning: $allow, registrarHost: $registrar,
      tftpEnabled: $tftp, tftpAllowedNetworks: $networks) {
    userErrors { field code message } } }"""
SET_PHONE_PASSWORD = """mutation($id: ID!, $pw: String!) {
  updateSipPreferences(extensionId: $id, phonePassword: $pw, phonePasswordConfirmation: $pw) {
    userErrors { code } } }"""
PROVISION_WITH_AUTH = """
mutation($extension: ID!, $mac: String, $manufacturer: String, $model: String, $firmware: String,
         $appVersion: String, $protocol: UpdateProtocol, $macBased: Boolean, $auth: Boolean,
         $generation: Boolean) {
  provisionDevice(extensionId: $extension, friendlyName: "Desk42", mac: $mac,
      manufacturer: $manufacturer, model: $model, firmware: $firmware,
      applicationVersion: $appVersion, updateProtocol: $protocol,
      useMacBasedProvisioning: $macBased, httpAuthentication: $auth,
      fileGenerationEnabled: $generation) {
    device { id mac httpAuthUsername httpAuthPassword provisioningLinks { kind url } }
    userErrors { field code message }
  }
}"""


# --- arranging tenants and devices ------------------------------------------------------------


@dataclass
class Line:
    """A phone-terminal extension with a known SIP password."""

    extension_id: str
    full_number: str
    password: str


@dataclass
class Provisioned:
    """A device as the tests need it: its id, key and HTTP auth credentials."""

    device_id: str
    mac: str
    key: str
    line: Line
    http_user: str | None = None
    http_password: str | None = None

    @property
    def directory(self) -> str:
        return f"/prov/{self.key}/"


async def add_line(gql: Any, token: str, owner_gid: str, name: str, password: str) -> Line:
    """A phone-terminal extension of `owner` with this SIP password."""
    payload = await create_extension(gql, token, owner_gid, name)
    extension = payload["extension"]
    body = await gql(SET_PHONE_PASSWORD, {"id": extension["id"], "pw": password}, token=token)
    assert body["data"]["updateSipPreferences"]["userErrors"] == [], body
    return Line(extension["id"], extension["fullNumber"], password)


async def provision_on(
    gql: Any, token: str, line: Line, mac: str, equipment: dict[str, Any], **extra: Any
) -> Provisioned:
    """provisionDevice on `line`; `extra` takes the PROVISION_WITH_AUTH variable names."""
    variables = {"extension": line.extension_id, "mac": mac, **equipment, **extra}
    body = await gql(PROVISION_WITH_AUTH, variables, token=token)
    assert "errors" not in body, body
    payload = body["data"]["provisionDevice"]
    assert payload["userErrors"] == [], payload["userErrors"]
    device = payload["device"]
    key = ""
    for link in device["provisioningLinks"]:
        if link["kind"] == "DEVICE_DIRECTORY":
            key = urlsplit(link["url"]).path.split("/")[2]
    return Provisioned(
        device["id"], mac, key, line, device["httpAuthUsername"], device["httpAuthPassword"]
    )


async def set_preferences(gql: Any, admin_token: str, **variables: Any) -> None:
    body = await gql(PREFERENCES, variables, token=admin_token)
    assert body["data"]["updateGlobalPreferences"]["userErrors"] == [], body


# --- a real server ----------------------------------------------------------------------------


@dataclass
class LiveServer:
    """uvicorn serving an app on a loopback port, in the test's event loop."""

    base_url: str
    server: uvicorn.Server


def loopback_socket() -> socket.socket:
    """A TCP socket bound to 127.0.0.1 on a free port, for `live_server`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def live_server(app: ASGIApp, sock: socket.socket | None = None) -> AsyncIterator[LiveServer]:
    """Run `app` (lifespan included) under uvicorn on `sock` (127.0.0.1 and a free port when
    not given); the socket is closed afterwards."""
    sock = sock or loopback_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="on", log_level="warning", server_header=False, access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield LiveServer(f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        await task
        sock.close()


# --- the phones -------------------------------------------------------------------------------


def mac_digits(mac: str) -> str:
    return mac.replace(":", "").lower()


@dataclass(frozen=True)
class Phone:
    """One vendor family: its equipment, its User-Agent, what it asks for, in order, and how
    its line settings must read.

    `boot` lists the names the phone asks for (mac is `{mac}` lower, `{MAC}` upper); `absent`
    are the ones this equipment has no file for, which must get the uniform 404.
    """

    vendor: str
    equipment: dict[str, str]
    mac: str
    user_agent: str
    boot: tuple[str, ...]
    absent: frozenset[str]
    line_file: str
    line_syntax: Callable[[str, str, str], list[str]]
    transport: str = "HTTP"
    uploads: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def names(self) -> list[str]:
        digits = mac_digits(self.mac)
        return [n.replace("{mac}", digits).replace("{MAC}", digits.upper()) for n in self.boot]

    def expand(self, name: str) -> str:
        digits = mac_digits(self.mac)
        return name.replace("{mac}", digits).replace("{MAC}", digits.upper())

    @property
    def ua_has_mac(self) -> bool:
        digits = mac_digits(self.mac)
        plain = self.user_agent.lower().replace(":", "").replace("-", "")
        return digits in plain

    def name_has_mac(self, name: str) -> bool:
        return mac_digits(self.mac) in name.lower()


PHONES: list[Phone] = [
    Phone(
        "yealink",
        {"manufacturer": "yealink", "model": "T46S", "firmware": "V81"},
        "00:15:65:aa:bb:01",
        "Yealink SIP-T46S 66.86.0.15 00:15:65:aa:bb:01",
        ("{mac}.boot", "y000000000000.boot", "y000000000066.cfg", "{mac}.cfg"),
        frozenset(),
        "{mac}.cfg",
        lambda user, pw, reg: [
            "#!version:1.0.0.1",
            f"account.1.user_name = {user}",
            f"account.1.auth_name = {user}",
            f"account.1.password = {pw}",
            f"account.1.sip_server.1.address = {reg}",
        ],
    ),
    Phone(
        "polycom",
        {"manufacturer": "polycom", "model": "VVX400", "firmware": "UCS"},
        "00:04:f2:aa:bb:02",
        "FileTransport PolycomVVX-VVX_400-UA/5.9.2.1234 Type/Application",
        (
            "{mac}.cfg",
            "000000000000.cfg",
            "sip.ld",
            "{mac}-user.cfg",
            "common.cfg",
            "{mac}-phone.cfg",
            "{mac}-directory.xml",
        ),
        frozenset({"sip.ld", "{mac}-phone.cfg", "{mac}-directory.xml"}),
        "{mac}-user.cfg",
        lambda user, pw, reg: [
            f'reg.1.address="{user}"',
            f'reg.1.auth.userId="{user}"',
            f'reg.1.auth.password="{pw}"',
            f'reg.1.server.1.address="{reg}"',
        ],
        uploads=("{mac}-app.log", "{mac}-phone.cfg"),
    ),
    Phone(
        "cisco-spa",
        {"manufacturer": "cisco", "model": "SPA504G", "firmware": "SPA7"},
        "00:02:fd:aa:bb:03",
        "Cisco/SPA504G-7.6.2 (0002FDAABB03)(CBT141400UK)",
        ("spa504G.cfg", "{mac}.xml"),
        frozenset(),
        "{mac}.xml",
        lambda user, pw, reg: [
            f"<User_ID_1_>{user}</User_ID_1_>",
            f"<Auth_ID_1_>{user}</Auth_ID_1_>",
            f"<Password_1_>{pw}</Password_1_>",
            f"<Proxy_1_>{reg}:5060</Proxy_1_>",
        ],
    ),
    Phone(
        "snom",
        {"manufacturer": "snom", "model": "D785", "firmware": "10.x"},
        "00:04:13:aa:bb:04",
        "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413AABB04 "
        "SXM:0 UXM:0)",
        ("snomD785.htm", "snomD785-{MAC}.htm", "snomD785-firmware.xml"),
        frozenset({"snomD785-firmware.xml"}),
        "snomD785-{MAC}.htm",
        lambda user, pw, reg: [
            f'<user_name idx="1" perm="R">{user}</user_name>',
            f'<user_pname idx="1" perm="R">{user}</user_pname>',
            f'<user_pass idx="1" perm="R">{pw}</user_pass>',
            f'<user_host idx="1" perm="R">{reg}:5060</user_host>',
        ],
    ),
    Phone(
        "aastra",
        {"manufacturer": "aastra", "model": "6731i", "firmware": "3.x"},
        "00:08:5d:aa:bb:05",
        "Aastra6731i MAC:00-08-5D-AA-BB-05 V:3.2.2.1136-SIP",
        ("aastra.cfg", "6731i.cfg", "{MAC}.cfg", "6731i.st", "aastra.tuz"),
        frozenset({"6731i.st", "aastra.tuz"}),
        "{MAC}.cfg",
        lambda user, pw, reg: [
            f"sip line1 user name: {user}",
            f"sip line1 auth name: {user}",
            f"sip line1 password: {pw}",
            f"sip line1 registrar ip: {reg}",
        ],
    ),
    Phone(
        "grandstream",
        {"manufacturer": "grandstream", "model": "GXP2135", "firmware": "1.0.x"},
        "00:0b:82:aa:bb:06",
        "Grandstream Model HW GXP2135 SW 1.0.7.97 DevId 000b82aabb06",
        ("cfg{mac}", "cfg{mac}.xml", "cfggxp2135.xml", "cfg.xml"),
        frozenset({"cfg{mac}"}),
        "cfg{mac}.xml",
        lambda user, pw, reg: [
            f"<P35>{user}</P35>",
            f"<P36>{user}</P36>",
            f"<P34>{pw}</P34>",
            f"<P47>{reg}:5060</P47>",
        ],
    ),
    Phone(
        "fanvil",
        {"manufacturer": "fanvil", "model": "X4", "firmware": "2.x"},
        "0c:38:3e:aa:bb:07",
        "Fanvil X4 2.10.2.6887 0c383eaabb07",
        ("f0X4hw1.100.cfg", "{mac}.cfg", "fanvil_x4_hwv1_0.txt"),
        frozenset({"fanvil_x4_hwv1_0.txt"}),
        "{mac}.cfg",
        lambda user, pw, reg: [
            f"<PhoneNumber>{user}</PhoneNumber>",
            f"<RegisterUser>{user}</RegisterUser>",
            f"<RegisterPswd>{pw}</RegisterPswd>",
            f"<RegisterAddr>{reg}</RegisterAddr>",
        ],
    ),
    Phone(
        "panasonic",
        {"manufacturer": "panasonic", "model": "KX-UT136", "firmware": "STD"},
        "00:80:f0:aa:bb:08",
        "Panasonic_KX-UT136/01.133 (0080f0aabb08)",
        ("KX-UT136.cfg", "Config{MAC}.cfg", "ConfigKX-UT136.cfg", "ConfigCommon.cfg"),
        frozenset({"ConfigKX-UT136.cfg", "ConfigCommon.cfg"}),
        "Config{MAC}.cfg",
        lambda user, pw, reg: [
            f'PHONE_NUMBER_1="{user}"\r\n',
            f'SIP_AUTHID_1="{user}"\r\n',
            f'SIP_PASS_1="{pw}"\r\n',
            f'SIP_RGSTR_ADDR_1="{reg}"\r\n',
        ],
    ),
]

CISCO_7960 = Phone(
    "cisco-79xx",
    {"manufacturer": "cisco", "model": "7960", "firmware": "8.x", "appVersion": "P0S3-08-11-00"},
    "00:30:94:aa:bb:09",
    "",
    (
        "CTLSEP{MAC}.tlv",
        "SEP{MAC}.cnf.xml",
        "SIPDefault.cnf",
        "SIP{MAC}.cnf",
        "RINGLIST.DAT",
        "dialplan.xml",
        "syncinfo.xml",
        "OS79XX.TXT",
    ),
    frozenset({"CTLSEP{MAC}.tlv", "SEP{MAC}.cnf.xml", "RINGLIST.DAT", "OS79XX.TXT"}),
    "SIP{MAC}.cnf",
    lambda user, pw, reg: [
        f'line1_name: "{user}"',
        f'line1_authname: "{user}"',
        f'line1_password: "{pw}"',
        f'proxy1_address: "{reg}"',
    ],
    transport="TFTP",
)


@dataclass
class Walk:
    """What a phone got for each name it asked for."""

    statuses: dict[str, int] = field(default_factory=dict)
    bodies: dict[str, bytes] = field(default_factory=dict)
    not_found: dict[str, tuple[bytes, list[tuple[str, str]]]] = field(default_factory=dict)


async def boot_over_http(http: httpx.AsyncClient, phone: Phone, base_path: str) -> Walk:
    """Ask for every name of the boot sequence with the phone's own User-Agent, then upload."""
    walk = Walk()
    headers = {"User-Agent": phone.user_agent}
    for name in phone.names():
        response = await http.get(base_path + name, headers=headers)
        walk.statuses[name] = response.status_code
        walk.bodies[name] = response.content
        if response.status_code == 404:
            kept = [
                (k, v)
                for k, v in response.headers.items()
                if k.lower() not in {"date", "x-request-id"}  # differ between any two answers
            ]
            walk.not_found[name] = (response.content, kept)
    for upload in phone.uploads:
        name = phone.expand(upload)
        response = await http.put(base_path + name, content=b"log line\n" * 100, headers=headers)
        walk.statuses[f"PUT {name}"] = response.status_code
    return walk
