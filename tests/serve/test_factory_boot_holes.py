"""The holes a factory-fresh phone fell into, each reproduced: Polycom could not get a master
through the shared root, SPA and Panasonic bootstraps named TFTP whatever the device's
protocol, and an HTTP phone sent to TFTP by DHCP option 66 got nothing there."""

from __future__ import annotations

import re
import shutil
from typing import Any

import httpx
import pytest
from account_tree import Member, build_tree
from conftest import make_settings
from phone_simulators import (
    PHONES,
    REGISTRAR,
    Phone,
    Provisioned,
    add_line,
    live_server,
    mac_digits,
    provision_on,
    set_preferences,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.serve.app import create_app
from magnaprov.serve.contact_recorder import ContactRecorder
from magnaprov.serve.file_store import FileStore
from magnaprov.serve.tftp_service import TftpService

VENDORS = {phone.vendor: phone for phone in PHONES}
CLIENT = ("127.0.0.1", 4000)


@pytest.fixture
def settings(engine: AsyncEngine) -> Any:
    return make_settings(
        engine.url.render_as_string(hide_password=False), contact_flush_seconds=3600
    )


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


async def provision(
    gql: Any, tree: dict[str, Member], phone: Phone, protocol: str, *, allow: bool = True
) -> Provisioned:
    await set_preferences(gql, tree["admin"].token, allow=allow, registrar=REGISTRAR)
    line = await add_line(gql, tree["o1"].token, tree["u1"].gid, phone.vendor, "Sip-Secret-1x")
    return await provision_on(
        gql, tree["o1"].token, line, phone.mac, phone.equipment, protocol=protocol, macBased=True
    )


async def shared_root_get(settings: Any, engine: AsyncEngine, phone: Phone, name: str) -> str:
    async with (
        live_server(create_app(settings, engine)) as server,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        response = await http.get(f"/prov/{name}", headers={"User-Agent": phone.user_agent})
        assert response.status_code == 200, name
        return response.text


async def test_a_polycom_gets_its_per_mac_master_through_the_shared_root(
    engine, settings, gql, tree
):
    phone = VENDORS["polycom"]
    device = await provision(gql, tree, phone, "HTTP")
    digits = mac_digits(phone.mac)
    master = await shared_root_get(settings, engine, phone, f"{digits}.cfg")
    listed = re.search(r'CONFIG_FILES="([^"]*)"', master)
    assert listed is not None
    files = [name.strip() for name in listed[1].split(",")]
    assert [name.rsplit("/", 1)[-1] for name in files] == [f"{digits}-user.cfg", "common.cfg"]
    assert all(f"/prov/{device.key}/" in name for name in files)  # its own directory


@pytest.mark.parametrize(
    ("vendor", "bootstrap", "pointer"),
    [
        ("panasonic", "KX-UT136.cfg", r'CFG_STANDARD_FILE_PATH="([^"]+)"'),
        ("cisco-spa", "spa504G.cfg", r"<Profile_Rule>([^<]+)</Profile_Rule>"),
    ],
)
async def test_a_bootstrap_without_a_mac_points_over_the_devices_own_protocol(
    engine, settings, gql, tree, vendor, bootstrap, pointer
):
    phone = VENDORS[vendor]
    await provision(gql, tree, phone, "HTTP")
    text = await shared_root_get(settings, engine, phone, bootstrap)
    [target] = re.findall(pointer, text)
    # The phone's MAC file, on the shared root, over HTTP: the shared root finds it by MAC.
    assert re.fullmatch(r"http://[^/]+/prov/(Config\{MAC\}\.cfg|\$MA\.xml)", target), target


@pytest.mark.skipif(shutil.which("curl") is None, reason="the TFTP tests need curl")
@pytest.mark.parametrize("in_force", [True, False])
async def test_an_http_phone_sent_to_tftp_gets_its_mac_named_boot_file_only_while_in_force(
    engine, services, gql, tree, in_force
):
    phone = VENDORS["yealink"]
    device = await provision(gql, tree, phone, "HTTP", allow=in_force)
    await set_preferences(gql, tree["admin"].token, tftp=True, networks=["127.0.0.0/8"])
    store = FileStore(engine, services.secrets)
    service = TftpService(engine, store, ContactRecorder(engine, 3600), host="127.0.0.1", port=0)
    await store.start()
    try:
        digits = mac_digits(phone.mac)
        boot = await service.lookup(f"{digits}.boot", CLIENT)
        # Nothing but the boot path's TFTP names: its line file stays off TFTP.
        assert await service.lookup(f"{digits}.cfg", CLIENT) is None
        assert await service.lookup("y000000000066.cfg", CLIENT) is None
    finally:
        await store.stop()
    if not in_force:
        assert boot is None
        return
    assert boot is not None
    included = re.findall(r'^include:config "([^"]+)"', boot.decode(), re.MULTILINE)
    assert included and all(f"/prov/{device.key}/" in name for name in included)
    assert all(name.startswith("http://") for name in included)
