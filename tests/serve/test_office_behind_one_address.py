"""An office whose phones share one public address boots without a ban (phones ask for names
they do not have), while a scanner from that same address is still banned; trusted networks are
never banned."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from conftest import make_settings
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.fleet import Fleet, build_fleet
from magnaprov.db import Device, GlobalPreferences, create_session_factory
from magnaprov.serve.app import create_app

OFFICE = "203.0.113.80"
PHONES = 300
THRESHOLD = 60
# Names phones ask for that these devices have no file for (firmware, directories, hunts).
OPTIONAL = ("{mac}-directory.xml", "sip.ld", "{mac}-license.cfg")


@pytest.fixture
async def fleet(engine: AsyncEngine) -> Fleet:
    url = engine.url.render_as_string(hide_password=False)
    fleet = await build_fleet(engine, make_settings(url), PHONES)
    # Every other phone provisions from the shared root, by the MAC in its query.
    async with create_session_factory(engine)() as session, session.begin():
        await session.execute(update(GlobalPreferences).values(allow_mac_provisioning=True))
        await session.execute(
            update(Device).where(Device.id % 2 == 0).values(use_mac_provisioning=True)
        )
    return fleet


async def serving(engine: AsyncEngine, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        engine.url.render_as_string(hide_password=False),
        miss_threshold=THRESHOLD,
        contact_flush_seconds=3600,
        **overrides,
    )
    app = create_app(settings, engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(OFFICE, 5060))
        async with httpx.AsyncClient(transport=transport, base_url="http://prov.test") as http:
            yield http


async def boot_every_phone(http: httpx.AsyncClient, fleet: Fleet) -> dict[int, int]:
    statuses: dict[int, int] = {}
    for phone in fleet.devices:
        shared_root = phone.device_id % 2 == 0
        base = "/prov/" if shared_root else f"/prov/{phone.key}/"
        params = {"mac": phone.mac} if shared_root else None
        digits = phone.mac.replace(":", "")
        for name in (*phone.files, *(n.format(mac=digits) for n in OPTIONAL)):
            status = (await http.get(base + name, params=params)).status_code
            statuses[status] = statuses.get(status, 0) + 1
    return statuses


async def test_three_hundred_phones_behind_one_address_boot_but_a_scanner_there_is_banned(
    engine, fleet
):
    async for http in serving(engine):
        statuses = await boot_every_phone(http, fleet)
        assert set(statuses) == {200, 404}, statuses
        assert statuses[404] == PHONES * len(OPTIONAL)
        for _ in range(THRESHOLD):
            scan = await http.get(f"/prov/{secrets.token_urlsafe(24)}/0015650a0001.cfg")
            assert scan.status_code == 404
        assert (await http.get(f"/prov/{fleet.devices[1].key}/x.cfg")).status_code == 429


async def test_misses_on_macs_that_exist_but_are_not_in_force_count_like_unknown_ones(
    engine, fleet
):
    async for http in serving(engine):
        not_in_force = [phone for phone in fleet.devices if phone.device_id % 2 == 1]
        for phone in not_in_force[: THRESHOLD // 2]:
            response = await http.get("/prov/x.cfg", params={"mac": phone.mac})
            assert response.status_code == 404
        for _ in range(THRESHOLD // 2):
            unknown = "00:15:65:ff:" + secrets.token_hex(2)[:2] + ":" + secrets.token_hex(1)
            assert (await http.get("/prov/x.cfg", params={"mac": unknown})).status_code == 404
        assert (await http.get("/prov/x.cfg")).status_code == 429


async def test_a_trusted_network_is_never_banned(engine, fleet):
    async for http in serving(engine, trusted_networks="203.0.113.0/24"):
        for _ in range(3 * THRESHOLD):
            scan = await http.get(f"/prov/{secrets.token_urlsafe(24)}/0015650a0001.cfg")
            assert scan.status_code == 404
