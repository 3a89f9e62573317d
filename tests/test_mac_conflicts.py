"""MACs in use by another tenant: probing throttled, both sides audited, the admin releases."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from account_tree import Member, build_tree
from conftest import GraphQL, make_settings
from device_fixtures import device_variables, provision
from extension_fixtures import create_extension

from magnaprov.serve.app import create_app

HELD = ["00:15:65:AA:10:01", "00:15:65:AA:10:02", "00:15:65:AA:10:03", "00:15:65:AA:10:04"]
FREE = "00:15:65:AA:10:99"
PROBE = """mutation($extension: ID!, $name: String, $manufacturer: String, $model: String,
                    $firmware: String, $mac: String) {
  provisionDevice(extensionId: $extension, friendlyName: $name, manufacturer: $manufacturer,
                  model: $model, firmware: $firmware, mac: $mac) {
    device { id } userErrors { field code message } } }"""
AUDIT = """query { auditLog(objectType: null, first: 100) {
  nodes { action actorLogin clientAddress objectType details adminDetails } } }"""
RELEASE = """mutation($mac: String!) { releaseDeviceMac(mac: $mac) {
  extensionId userErrors { field code message } } }"""
BY_MAC = "query($mac: String!) { device(mac: $mac) { id extension { fullNumber } } }"


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


@pytest.fixture
async def gql(engine: Any) -> AsyncIterator[GraphQL]:
    """The app with a limit of 3 MAC conflicts per account."""
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(make_settings(url, mac_conflicts_per_account=3), engine)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQL(http)
    await app.state.services.close()


@pytest.fixture
async def held(gql, tree) -> dict[str, str]:
    """o1's user u1 has four phones with the HELD MACs; o3's user u4 has a new extension."""
    made = {}
    for index, mac in enumerate(HELD):
        extension = await create_extension(gql, tree["o1"].token, tree["u1"].gid, f"Desk {index}")
        assert (await provision(gql, tree["o1"].token, extension["extension"]["id"], mac))[
            "userErrors"
        ] == []
    prober = await create_extension(gql, tree["o3"].token, tree["u4"].gid, "Prober")
    made["prober"] = prober["extension"]["id"]
    return made


async def probe(gql, member: Member, extension_id: str, mac: str) -> dict[str, Any]:
    body = await gql(PROBE, device_variables(extension_id, mac), token=member.token)
    payload: dict[str, Any] = body["data"]["provisionDevice"]
    return payload


def codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


async def test_another_tenant_is_throttled_after_a_few_macs_in_use(gql, tree, held):
    o3 = tree["o3"]
    for mac in HELD[:3]:
        answer = await probe(gql, o3, held["prober"], mac)
        assert codes(answer) == [("mac", "DUPLICATE_MAC")]
        assert "0001" not in answer["userErrors"][0]["message"]
    # The fourth MAC in use is not evaluated: the answer does not tell whether it is taken.
    taken = await probe(gql, o3, held["prober"], HELD[3])
    free = await probe(gql, o3, held["prober"], FREE)
    assert codes(taken) == codes(free) == [("mac", "THROTTLED")]
    assert taken["userErrors"] == free["userErrors"]
    assert free["device"] is None


async def test_the_admin_is_not_throttled_and_learns_who_holds_the_mac(gql, tree, held):
    for _ in range(5):
        answer = await probe(gql, tree["admin"], held["prober"], HELD[0])
        assert codes(answer) == [("mac", "DUPLICATE_MAC")]
    assert "0001*001" in answer["userErrors"][0]["message"]


async def test_a_conflict_is_audited_for_both_sides_without_naming_the_other(gql, tree, held):
    await probe(gql, tree["o3"], held["prober"], HELD[0])

    async def entries(viewer: str, action: str) -> list[dict[str, Any]]:
        nodes = (await gql(AUDIT, token=tree[viewer].token))["data"]["auditLog"]["nodes"]
        return [n for n in nodes if n["action"] == action]

    [prober_side] = await entries("o3", "device.mac_conflict")
    assert prober_side["actorLogin"] == "o3"
    assert json.loads(prober_side["details"]) == {"mac": HELD[0].lower(), "extension": "0003*001"}
    assert prober_side["adminDetails"] is None
    assert await entries("o3", "device.mac_claimed_elsewhere") == []
    for holder_view in ("o1", "p1", "u1"):
        [holder_side] = await entries(holder_view, "device.mac_claimed_elsewhere")
        assert holder_side["actorLogin"] == "" and holder_side["clientAddress"] is None
        assert json.loads(holder_side["details"]) == {
            "mac": HELD[0].lower(),
            "extension": "0001*001",
        }
        assert holder_side["adminDetails"] is None
        assert await entries(holder_view, "device.mac_conflict") == []
    [admin_prober] = await entries("admin", "device.mac_conflict")
    assert json.loads(admin_prober["adminDetails"])["holder_extension"] == "0001*001"
    [admin_holder] = await entries("admin", "device.mac_claimed_elsewhere")
    assert json.loads(admin_holder["adminDetails"])["claimed_by"] == "o3"
    for sibling in ("p2", "o2"):
        assert await entries(sibling, "device.mac_claimed_elsewhere") == []


@pytest.mark.parametrize("viewer", ["o3", "p2", "o1", "p1", "u1"])
async def test_only_the_admin_may_release_a_mac_others_get_not_found(gql, tree, held, viewer):
    answer = (await gql(RELEASE, {"mac": HELD[0]}, token=tree[viewer].token))["data"]
    missing = (await gql(RELEASE, {"mac": FREE}, token=tree["admin"].token))["data"]
    assert answer["releaseDeviceMac"] == missing["releaseDeviceMac"]
    assert codes(answer["releaseDeviceMac"]) == [("mac", "NOT_FOUND")]
    still = await gql(BY_MAC, {"mac": HELD[0]}, token=tree["admin"].token)
    assert still["data"]["device"]["extension"]["fullNumber"] == "0001*001"


async def test_the_admin_releases_a_mac_and_its_rightful_owner_provisions_it(gql, tree, held):
    released = (await gql(RELEASE, {"mac": HELD[0]}, token=tree["admin"].token))["data"]
    assert released["releaseDeviceMac"]["userErrors"] == []
    assert released["releaseDeviceMac"]["extensionId"]
    gone = await gql(BY_MAC, {"mac": HELD[0]}, token=tree["admin"].token)
    assert gone["data"]["device"] is None
    claimed = await probe(gql, tree["o3"], held["prober"], HELD[0])
    assert claimed["userErrors"] == [] and claimed["device"]
    nodes = (await gql(AUDIT, token=tree["o1"].token))["data"]["auditLog"]["nodes"]
    [release] = [n for n in nodes if n["action"] == "device.mac_released"]
    assert release["actorLogin"] == "admin"
    assert json.loads(release["details"]) == {"mac": HELD[0].lower(), "extension": "0001*001"}
