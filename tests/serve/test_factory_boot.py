"""A factory-fresh phone of every vendor boots from DHCP option 66 (TFTP, and HTTP where the
vendor fetches over it) to its own files, against a real `magnaprov serve` process: real
TFTP (curl's tftp:// client) and real HTTP, following the catalog's boot-path data."""

from __future__ import annotations

import shutil
import socket
from typing import Any

import httpx
import pytest
from account_tree import build_tree
from conftest import GraphQL
from factory_phones import (
    FACTORY_PHONES,
    TFTP_NOT_FOUND,
    FactoryWalk,
    boot_path,
    curl_tftp,
    with_mac,
)
from ops.live_process import serve_process, wait_until
from phone_simulators import REGISTRAR, Phone, add_line, provision_on, set_preferences
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.templating import find_equipment

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl (apt: curl)")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def protocols(phone: Phone) -> tuple[str, ...]:
    equipment = find_equipment(
        phone.equipment["manufacturer"], phone.equipment["model"], phone.equipment["firmware"]
    )
    assert equipment is not None
    return equipment.model.protocols


def answered_over_tftp_in_force(phone: Phone) -> bool:
    return any("TFTP" in step.answered_over for step in boot_path(phone).steps)


async def check_walk(walk: FactoryWalk, directory: str, password: str) -> None:
    """It ended with its own main file (its line in it), and resyncs from its own files."""
    main_name = walk.phone.expand(boot_path(walk.phone).main)
    main = walk.fetched(main_name)
    assert password in main.body.decode(), (walk.phone.vendor, main.where)
    again = await walk.resync(directory)
    assert again.ok and again.body == main.body, (walk.phone.vendor, again.where)


async def test_every_vendor_boots_from_dhcp_option_66_to_its_own_files(
    engine: AsyncEngine, gql: Any, session_factory: Any, services: Any, tmp_path: Any
) -> None:
    tree = await build_tree(session_factory, services)
    await set_preferences(
        gql, tree["admin"].token, allow=True, registrar=REGISTRAR, tftp=True,
        networks=["127.0.0.0/8"],
    )  # fmt: skip
    token, owner = tree["o1"].token, tree["u1"].gid
    tftp_port = free_udp_port()
    database_url = engine.url.render_as_string(hide_password=False)
    environment = {"MAGNAPROV_TFTP_HOST": "127.0.0.1", "MAGNAPROV_TFTP_PORT": str(tftp_port)}
    with serve_process(database_url, tmp_path, **environment) as (_process, url):
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await wait_until(lambda: _healthy(http), 30)
            await wait_until(lambda: _tftp_answers(tftp_port), 30)
            live = GraphQL(http)
            reached: set[tuple[str, str, str]] = set()  # vendor, option 66, device protocol
            for index, phone in enumerate(FACTORY_PHONES):
                if "HTTP" in protocols(phone):
                    reached |= await _walk_http_device(
                        live, http, url, tftp_port, token, owner, phone, index
                    )
                tftp_phone = with_mac(phone, phone.mac[:-2] + "7f")
                line = await add_line(live, token, owner, f"Tftp {index}", f"Tftp-Secret-{index}x")
                device = await provision_on(
                    live, token, line, tftp_phone.mac, tftp_phone.equipment, protocol="TFTP",
                    macBased=False,
                )  # fmt: skip
                walk = FactoryWalk(tftp_phone, http, url, tftp_port, "TFTP")
                await walk.boot("TFTP")
                await check_walk(walk, url + device.directory, line.password)
                reached.add((phone.vendor, "TFTP", "TFTP"))
    vendors = {phone.vendor for phone in FACTORY_PHONES}
    assert len(vendors) == 9
    assert {vendor for vendor, option, _ in reached if option == "TFTP"} == vendors
    assert {vendor for vendor, option, _ in reached if option == "HTTP"} == vendors - {"cisco-79xx"}
    # An HTTP device also boots from a TFTP option 66 wherever a name carrying its MAC leads on.
    assert {"yealink", "polycom", "snom", "aastra", "grandstream", "fanvil"} <= {
        vendor for vendor, option, protocol in reached if (option, protocol) == ("TFTP", "HTTP")
    }


async def _walk_http_device(
    live: GraphQL,
    http: httpx.AsyncClient,
    url: str,
    tftp_port: int,
    token: str,
    owner: str,
    phone: Phone,
    index: int,
) -> set[tuple[str, str, str]]:
    """An HTTP device with MAC-based provisioning in force, booting from option 66 as an HTTP
    URL of the shared root, then (a second factory boot) from option 66 naming the TFTP server."""
    line = await add_line(live, token, owner, f"Http {index}", f"Http-Secret-{index}x")
    device = await provision_on(
        live, token, line, phone.mac, phone.equipment, protocol="HTTP", macBased=True
    )
    walk = FactoryWalk(phone, http, url, tftp_port, "HTTP")
    await walk.boot("HTTP")
    await check_walk(walk, url + device.directory, line.password)
    reached = {(phone.vendor, "HTTP", "HTTP")}
    walk = FactoryWalk(phone, http, url, tftp_port, "HTTP")
    await walk.boot("TFTP")  # each request answered or missed as the data says
    if not answered_over_tftp_in_force(phone):
        # Its bootstrap carries no MAC and TFTP no User-Agent: nothing tells which phone asks.
        assert walk.fetches and not any(fetch.ok for fetch in walk.fetches), phone.vendor
        return reached
    await check_walk(walk, url + device.directory, line.password)
    return reached | {(phone.vendor, "TFTP", "HTTP")}


async def _healthy(http: httpx.AsyncClient) -> bool:
    return (await http.get("/healthz")).status_code == 200


async def _tftp_answers(port: int) -> bool:
    code, _ = await curl_tftp(port, "nothing-here.cfg", max_time=1)
    return code == TFTP_NOT_FOUND
