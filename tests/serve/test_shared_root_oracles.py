"""The shared root and TFTP tell a scanner nothing about which MACs exist: a miss costs the same
statements and cache look-ups whatever its cause, the answer to a request without credentials
is the same for every MAC, and only an identified, authorised phone records a last contact."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from account_tree import Member, build_tree
from conftest import GraphQL, StatementCounter, make_settings
from phone_simulators import Provisioned, add_line, provision_on, set_preferences
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.db import Device
from magnaprov.serve.app import create_app
from magnaprov.serve.tftp_service import TftpService

YEALINK = {"manufacturer": "yealink", "model": "T46S", "firmware": "V81"}
CISCO_7960 = {
    "manufacturer": "cisco",
    "model": "7960",
    "firmware": "8.x",
    "appVersion": "P0S3-08-11-00",
}
MAC_ON, MAC_OFF, MAC_DIGEST = "00:15:65:1a:00:01", "00:15:65:1b:00:02", "00:15:65:1c:00:03"
MAC_UNKNOWN, MAC_UNKNOWN_2 = "00:15:65:1f:ff:ff", "00:15:65:1f:ff:fe"
MAC_LATER = "00:15:65:1d:00:04"
MAC_TFTP = "00:30:94:1e:00:05"
CLIENT = ("198.51.100.20", 5060)


def digits(mac: str) -> str:
    return mac.replace(":", "")


def agent(mac: str) -> str:
    return f"Yealink SIP-T46S 66.86.0.15 {mac}"


@pytest.fixture
async def app(engine: AsyncEngine) -> AsyncIterator[Any]:
    settings = make_settings(
        engine.url.render_as_string(hide_password=False), contact_flush_seconds=3600
    )
    app = create_app(settings, engine)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=CLIENT)
    async with httpx.AsyncClient(transport=transport, base_url="http://prov.test") as client:
        yield client


@dataclass
class Fleet:
    tree: dict[str, Member]
    on: Provisioned  # MAC-based provisioning in force
    off: Provisioned  # exists, MAC-based provisioning off
    digest: Provisioned  # MAC-based flag on, HTTP Digest on
    tftp: Provisioned  # a Cisco 7960 over TFTP


@pytest.fixture
async def fleet(http: httpx.AsyncClient, session_factory: Any, services: Any) -> Fleet:
    gql = GraphQL(http)
    tree = await build_tree(session_factory, services)
    token = tree["o1"].token
    await set_preferences(gql, tree["admin"].token, allow=True)

    async def device(name: str, mac: str, equipment: dict[str, str], **extra: Any) -> Provisioned:
        line = await add_line(gql, token, tree["u1"].gid, name, f"{name}-Phone-pw-7")
        return await provision_on(gql, token, line, mac, equipment, **extra)

    return Fleet(
        tree,
        await device("On", MAC_ON, YEALINK, protocol="HTTP", macBased=True),
        await device("Off", MAC_OFF, YEALINK, protocol="HTTP", macBased=False),
        await device("Digest", MAC_DIGEST, YEALINK, protocol="HTTP", macBased=True, auth=True),
        await device("Tftp", MAC_TFTP, CISCO_7960, protocol="TFTP"),
    )


@dataclass(frozen=True)
class Cost:
    """What answering one request took: SQL statements and the store's look-up counters."""

    statements: int
    cache_hits: int
    database_loads: int
    reads: int
    scanning_misses: int


async def cost_of(app: Any, engine: AsyncEngine, request: Any) -> tuple[Cost, Any]:
    store, guard = app.state.file_store, app.state.miss_guard
    before = (store.stats.hits, store.stats.loads, store.stats.reads, guard.counters.misses)
    with StatementCounter(engine) as statements:
        answer = await request()
    after = (store.stats.hits, store.stats.loads, store.stats.reads, guard.counters.misses)
    deltas = [b - a for a, b in zip(before, after, strict=True)]
    return Cost(statements.count, *deltas), answer


async def test_a_shared_root_miss_costs_the_same_whether_the_mac_exists_or_not(
    app, http, engine, fleet
):
    # One look-up first, so that the global preference is cached for both alike.
    assert (await http.get("/prov/" + digits(MAC_ON) + ".cfg")).status_code == 200
    cases = {
        "MAC-based off": ("/prov/" + digits(MAC_OFF) + ".cfg", {}),
        "unknown MAC": ("/prov/" + digits(MAC_UNKNOWN) + ".cfg", {}),
        "a TFTP device, by User-Agent": (
            "/prov/y000000000066.cfg",
            {"User-Agent": agent(MAC_TFTP)},
        ),
        "unknown, by User-Agent": ("/prov/y000000000066.cfg", {"User-Agent": agent(MAC_UNKNOWN_2)}),
    }
    for attempt in ("first", "repeated"):
        costs = {}
        for cause, (path, headers) in cases.items():

            async def request(path: str = path, headers: dict[str, str] = headers) -> Any:
                return await http.get(path, headers=headers)

            costs[cause], response = await cost_of(app, engine, request)
            assert response.status_code == 404, cause
        assert len(set(costs.values())) == 1, (attempt, costs)
        [cost] = set(costs.values())
        assert cost.scanning_misses == 1
        if attempt == "first":
            assert cost.database_loads == 1 and cost.statements == 1
        else:
            assert cost == Cost(0, 1, 0, 0, 1)


async def test_a_tftp_miss_costs_the_same_whether_the_mac_exists_or_not(app, engine, fleet):
    store = app.state.file_store
    service = TftpService(engine, store, app.state.contacts, host="127.0.0.1", port=0)
    client = ("192.0.2.40", 50000)
    served = f"SIP{digits(MAC_TFTP).upper()}.cnf"
    assert await service.lookup(served, client) is not None  # caches the preference
    for attempt in ("first", "repeated"):
        costs = {}
        for cause, mac in (("an HTTP device", MAC_OFF), ("unknown MAC", MAC_UNKNOWN)):

            async def request(mac: str = mac) -> Any:
                return await service.lookup(f"SEP{digits(mac).upper()}.cnf.xml", client)

            costs[cause], answer = await cost_of(app, engine, request)
            assert answer is None, cause
        assert len(set(costs.values())) == 1, (attempt, costs)
        expected_loads = 1 if attempt == "first" else 0
        assert next(iter(costs.values())).database_loads == expected_loads


async def test_a_mac_remembered_as_unknown_is_served_as_soon_as_a_device_gets_it(app, http, fleet):
    token = fleet.tree["o1"].token
    gql = GraphQL(http)
    later = "/prov/" + digits(MAC_LATER) + ".cfg"
    for _ in range(2):
        assert (await http.get(later)).status_code == 404
    line = await add_line(gql, token, fleet.tree["u1"].gid, "Later", "Later-pw-1")
    await provision_on(gql, token, line, MAC_LATER, YEALINK, protocol="HTTP", macBased=True)
    assert (await http.get(later)).status_code == 200

    off = "/prov/" + digits(MAC_OFF) + ".cfg"
    for _ in range(2):
        assert (await http.get(off)).status_code == 404
    await provision_on(gql, token, fleet.off.line, MAC_OFF, YEALINK, macBased=True)
    assert (await http.get(off)).status_code == 200

    # A device whose MAC changes to one remembered as unknown is served under it at once.
    for _ in range(2):
        assert (await http.get("/prov/" + digits(MAC_UNKNOWN) + ".cfg")).status_code == 404
    await provision_on(gql, token, fleet.off.line, MAC_UNKNOWN, YEALINK, macBased=True)
    assert (await http.get("/prov/" + digits(MAC_UNKNOWN) + ".cfg")).status_code == 200
    assert (await http.get(off)).status_code == 404


def comparable(response: httpx.Response) -> tuple[int, bytes, tuple[tuple[str, str], ...]]:
    """Status, body and headers but the per-request ones (Date, X-Request-ID), with nonce and
    opaque values blanked."""
    headers = tuple(
        (name, re.sub(r'(nonce|opaque)="[^"]*"', r'\1=""', value))
        for name, value in response.headers.multi_items()
        if name.lower() not in {"date", "x-request-id"}
    )
    return response.status_code, response.content, headers


async def test_a_request_without_credentials_gets_the_same_answer_for_every_mac(http, fleet):
    requests = {
        "by name": lambda mac: ("GET", "/prov/" + digits(mac) + ".cfg", {}, None),
        "by User-Agent": lambda mac: (
            "GET",
            "/prov/y000000000066.cfg",
            {"User-Agent": agent(mac)},
            None,
        ),
        "by query": lambda mac: ("GET", "/prov/y000000000066.cfg", {}, {"mac": mac}),
        "HEAD": lambda mac: ("HEAD", "/prov/" + digits(mac) + ".cfg", {}, None),
        "log upload": lambda mac: ("PUT", f"/prov/{digits(mac)}-app.log", {}, None),
    }
    for kind, build in requests.items():
        answers = {}
        for cause, mac in (
            ("unknown", MAC_UNKNOWN),
            ("MAC-based off", MAC_OFF),
            ("HTTP Digest", MAC_DIGEST),
        ):
            method, path, headers, params = build(mac)
            response = await http.request(method, path, headers=headers, params=params)
            answers[cause] = comparable(response)
        assert len(set(answers.values())) == 1, (kind, answers)
        assert next(iter(answers.values()))[0] == 404


async def test_a_digest_device_says_why_the_shared_root_does_not_serve_it(http, fleet):
    body = await GraphQL(http)(
        """query($id: ID!) { node(id: $id) { ... on Device {
        macBasedProvisioning { inForce reason } provisioningLinks { kind } } } }""",
        {"id": fleet.digest.device_id},
        token=fleet.tree["o1"].token,
    )
    device = body["data"]["node"]
    assert device["macBasedProvisioning"] == {
        "inForce": False,
        "reason": "HTTP authentication is on: this device is served from its own directory only.",
    }
    assert [link["kind"] for link in device["provisioningLinks"]] == ["DEVICE_DIRECTORY"]


async def last_contact(session_factory: Any, mac: str) -> tuple[Any, ...]:
    async with session_factory() as session:
        row = (
            await session.execute(
                select(Device.last_contact_address, Device.last_contact_user_agent).where(
                    Device.mac == mac
                )
            )
        ).one()
        return tuple(row)


async def test_only_an_identified_authorised_phone_records_its_last_contact(
    app, http, engine, session_factory, fleet
):
    forged = {"User-Agent": "Forged/1.0"}
    refused = [
        ("PUT", "/prov/x-app.log", {"User-Agent": agent(MAC_OFF)}),
        ("PUT", f"/prov/{digits(MAC_OFF)}-app.log", forged),
        ("PUT", "/prov/x-app.log", {"User-Agent": agent(MAC_DIGEST)}),
        ("PUT", f"/prov/{digits(MAC_DIGEST)}-app.log", forged),
        ("GET", "/prov/" + digits(MAC_DIGEST) + ".cfg", forged),
        ("PUT", fleet.digest.directory + f"{digits(MAC_DIGEST)}-app.log", forged),
        ("GET", fleet.digest.directory + digits(MAC_DIGEST) + ".cfg", forged),
    ]
    for method, path, headers in refused:
        response = await http.request(method, path, headers=headers, content=b"log")
        assert response.status_code in (401, 404), (method, path)
    # TFTP: a common file lent by the lowest-id device says nothing of that device's phone.
    service = TftpService(engine, app.state.file_store, app.state.contacts, host="x", port=0)
    assert await service.lookup("SIPDefault.cnf", ("192.0.2.50", 50000)) is not None
    await app.state.contacts.flush()
    for mac in (MAC_OFF, MAC_DIGEST, MAC_TFTP):
        assert await last_contact(session_factory, mac) == (None, None), mac

    accepted = [
        ("PUT", "/prov/x-app.log", {"User-Agent": agent(MAC_ON)}, MAC_ON),
        ("PUT", fleet.off.directory + "x-app.log", {"User-Agent": "Off/1"}, MAC_OFF),
    ]
    for method, path, headers, _mac in accepted:
        response = await http.request(method, path, headers=headers, content=b"log")
        assert response.status_code == 204, path
    named = f"SIP{digits(MAC_TFTP).upper()}.cnf"
    assert await service.lookup(named, ("192.0.2.51", 50000)) is not None
    await app.state.contacts.flush()
    for _method, _path, headers, mac in accepted:
        assert await last_contact(session_factory, mac) == (CLIENT[0], headers["User-Agent"])
    assert await last_contact(session_factory, MAC_TFTP) == ("192.0.2.51", None)
