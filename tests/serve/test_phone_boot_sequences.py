"""Each vendor family walks its boot sequence against a real uvicorn on a loopback port (and the
Cisco 79xx over TFTP with curl), through its own directory and through the shared root."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from account_tree import Member, build_tree
from conftest import make_settings
from phone_simulators import (
    CISCO_7960,
    PHONES,
    REGISTRAR,
    Phone,
    Provisioned,
    add_line,
    boot_over_http,
    live_server,
    provision_on,
    set_preferences,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.serve.app import create_app
from magnaprov.serve.contact_recorder import ContactRecorder
from magnaprov.serve.file_store import FileStore
from magnaprov.serve.tftp_service import TftpService

needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl (apt: curl)")
XML_TYPE = "application/xml"


@pytest.fixture
def settings(engine: AsyncEngine) -> Any:
    return make_settings(
        engine.url.render_as_string(hide_password=False), contact_flush_seconds=3600
    )


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


async def provision_phones(
    gql: Any, tree: dict[str, Member], phones: list[Phone], **extra: Any
) -> dict[str, Provisioned]:
    await set_preferences(gql, tree["admin"].token, allow=True, registrar=REGISTRAR)
    provisioned = {}
    for index, phone in enumerate(phones):
        line = await add_line(
            gql, tree["o1"].token, tree["u1"].gid, f"Phone {index}", f"Sip-Secret-{index}x"
        )
        provisioned[phone.vendor] = await provision_on(
            gql,
            tree["o1"].token,
            line,
            phone.mac,
            phone.equipment,
            protocol=phone.transport,
            macBased=phone.transport != "TFTP",
            **extra,
        )
    return provisioned


def expected_status(phone: Phone, name: str, *, shared_root: bool) -> int:
    template_name = next(n for n in phone.boot if phone.expand(n) == name)
    if template_name in phone.absent:
        return 404
    if shared_root and not (phone.ua_has_mac or phone.name_has_mac(name)):
        return 404  # nothing in the request says which phone asks
    return 200


async def test_every_vendor_boots_through_its_directory_and_the_shared_root(
    engine, settings, gql, tree
):
    provisioned = await provision_phones(gql, tree, PHONES)
    async with (
        live_server(create_app(settings, engine)) as server,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        for phone in PHONES:
            device = provisioned[phone.vendor]
            for base, shared_root in ((device.directory, False), ("/prov/", True)):
                walk = await boot_over_http(http, phone, base)
                for name in phone.names():
                    expected = expected_status(phone, name, shared_root=shared_root)
                    assert walk.statuses[name] == expected, (phone.vendor, base, name)
                for upload in phone.uploads:
                    assert walk.statuses[f"PUT {phone.expand(upload)}"] == 204, phone.vendor
                assert len({(body, tuple(h)) for body, h in walk.not_found.values()}) <= 1
            line_file = phone.expand(phone.line_file)
            response = await http.get(
                device.directory + line_file, headers={"User-Agent": phone.user_agent}
            )
            text = response.content.decode()
            for expected_line in phone.line_syntax(
                device.line.full_number, device.line.password, REGISTRAR
            ):
                assert expected_line in text, (phone.vendor, expected_line)
            is_xml = text.lstrip().startswith("<")
            assert (response.headers["content-type"] == XML_TYPE) is is_xml, phone.vendor


async def test_a_phone_following_its_files_reaches_every_file_it_is_told_about(
    engine, settings, gql, tree
):
    """Polycom's master file names the rest; Yealink's boot file includes the rest."""
    polycom, yealink = PHONES[1], PHONES[0]
    provisioned = await provision_phones(gql, tree, [yealink, polycom])
    async with (
        live_server(create_app(settings, engine)) as server,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        directory = provisioned["polycom"].directory
        master = (await http.get(directory + "000000000000.cfg")).text
        listed = master.split('CONFIG_FILES="', 1)[1].split('"', 1)[0]
        digits = polycom.mac.replace(":", "")
        for name in (part.strip() for part in listed.split(",")):
            name = name.replace("[PHONE_MAC_ADDRESS]", digits)
            assert (await http.get(directory + name)).status_code == 200, name
        directory = provisioned["yealink"].directory
        boot = (await http.get(directory + yealink.mac.replace(":", "") + ".boot")).text
        included = [line.split('"')[1] for line in boot.splitlines() if line.startswith("include")]
        assert included
        for name in included:
            # An HTTP phone's includes name its own directory, at the configured address.
            assert name.startswith("http://") and urlsplit(name).path.startswith(directory)
            assert (await http.get(urlsplit(name).path)).status_code == 200, name


async def curl_tftp(port: int, name: str, max_time: float = 5) -> tuple[int, bytes]:
    process = await asyncio.create_subprocess_exec(
        "curl",
        "-sS",
        "--max-time",
        str(max_time),
        f"tftp://127.0.0.1:{port}/{name}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    body, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, body


@needs_curl
async def test_a_cisco_7960_boots_over_tftp(engine, services, gql, tree):
    phone = CISCO_7960
    provisioned = await provision_phones(gql, tree, [phone], appVersion="P0S3-08-11-00")
    device = provisioned[phone.vendor]
    store = FileStore(engine, services.secrets)
    contacts = ContactRecorder(engine, 3600)
    service = TftpService(engine, store, contacts, host="127.0.0.1", port=0)
    await store.start()
    try:
        await service.reconcile()
        assert service.server is None  # TFTP is off by default
        await set_preferences(gql, tree["admin"].token, tftp=True, networks=["127.0.0.0/8"])
        await service.reconcile()
        assert service.server is not None
        port = service.server.address[1]
        bodies = {}
        for name in phone.names():
            code, body = await curl_tftp(port, name)
            template_name = next(n for n in phone.boot if phone.expand(n) == name)
            assert (code == 0) is (template_name not in phone.absent), (name, code)
            bodies[name] = body
        text = bodies[phone.expand(phone.line_file)].decode()
        for expected in phone.line_syntax(device.line.full_number, device.line.password, REGISTRAR):
            assert expected in text, expected
        assert contacts.pending == 1

        # A phone not tied to any device yet still gets the Server default's common files,
        # never a MAC file of another phone.
        fresh = TftpService(engine, store, contacts, host="127.0.0.1", port=0)
        assert await fresh.lookup("SIPDefault.cnf", ("127.0.0.9", 1000)) == bodies["SIPDefault.cnf"]
        assert await fresh.lookup("SIP003094AABB10.cnf", ("127.0.0.9", 1000)) is None

        await set_preferences(gql, tree["admin"].token, networks=["192.0.2.0/24"])
        await service.reconcile()
        assert service.server is not None
        port = service.server.address[1]
        code, _ = await curl_tftp(port, phone.expand(phone.line_file), max_time=0.5)
        assert code == 28  # loopback is no longer allowed: no answer at all, curl times out
        await set_preferences(gql, tree["admin"].token, tftp=False)
        await service.reconcile()
        assert service.server is None
    finally:
        await service.stop()
        await store.stop()
