"""The phone routes through the app in-process (lifespan running): what is served, how misses,
conditional requests, uploads, HTTP Digest, last contacts, metrics and the access log behave."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from account_tree import Member, build_tree
from conftest import GraphQL, make_settings
from metric_samples import parse_scrape
from phone_simulators import (
    REGISTRAR,
    Provisioned,
    add_line,
    live_server,
    provision_on,
    set_preferences,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from switchable_database import switchable_engine

from magnaprov.db import is_sqlite
from magnaprov.serve.app import create_app
from magnaprov.serve.digest import compute_response, parse_digest_header
from magnaprov.serve.file_store import BATCH_WINDOW_SECONDS

YEALINK = {"manufacturer": "yealink", "model": "T46S", "firmware": "V81"}
MAC_A, MAC_B, MAC_C = "00:15:65:0a:00:01", "00:15:65:0b:00:02", "00:15:65:0c:00:03"
CLIENT = ("198.51.100.10", 5060)
UA = "Yealink SIP-T46S 66.86.0.15 00:15:65:0a:00:01"


def device_file(mac: str) -> str:
    return mac.replace(":", "") + ".cfg"


@pytest.fixture
def settings(engine: AsyncEngine) -> Any:
    # No background flush during a test: the contact test flushes by hand.
    return make_settings(
        engine.url.render_as_string(hide_password=False), contact_flush_seconds=3600
    )


@pytest.fixture
async def app(engine: AsyncEngine, settings: Any) -> AsyncIterator[Any]:
    app = create_app(settings, engine)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=CLIENT)
    async with httpx.AsyncClient(transport=transport, base_url="http://prov.test") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQL:
    return GraphQL(http)


@dataclass
class World:
    tree: dict[str, Member]
    a: Provisioned  # tenant o1, HTTP, MAC-based on
    b: Provisioned  # tenant o3, HTTPS, MAC-based off
    c: Provisioned  # tenant o1, file generation disabled


@pytest.fixture
async def world(gql: GraphQL, session_factory: Any, services: Any) -> World:
    tree = await build_tree(session_factory, services)
    await set_preferences(gql, tree["admin"].token, allow=True, registrar=REGISTRAR)
    line_a = await add_line(gql, tree["o1"].token, tree["u1"].gid, "Alice Desk", "Line-A-pw-1")
    line_b = await add_line(gql, tree["p2"].token, tree["u4"].gid, "Bob Desk", "Line-B-pw-2")
    line_c = await add_line(gql, tree["o1"].token, tree["u1"].gid, "Carol Desk", "Line-C-pw-3")
    a = await provision_on(
        gql, tree["o1"].token, line_a, MAC_A, YEALINK, protocol="HTTP", macBased=True
    )
    b = await provision_on(gql, tree["p2"].token, line_b, MAC_B, YEALINK, macBased=False)
    c = await provision_on(gql, tree["o1"].token, line_c, MAC_C, YEALINK)
    # Generation off: no links any more, but the key (read above) still exists.
    await provision_on(gql, tree["o1"].token, line_c, MAC_C, YEALINK, generation=False)
    return World(tree, a, b, c)


async def raw_request(
    app: Any,
    method: str,
    raw_path: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    client: tuple[str, int] = CLIENT,
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One request through the ASGI app with the path bytes exactly as given."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path.decode("latin-1"), errors="replace"),
        "raw_path": raw_path,
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"prov.test"), *(headers or [])],
        "client": client,
        "server": ("prov.test", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], sent[0]["headers"], b"".join(m.get("body", b"") for m in sent[1:])


# Headers that differ between any two answers: the time and the request's own id.
PER_REQUEST_HEADERS = {"date", "x-request-id"}


def without_date(response: httpx.Response) -> list[tuple[str, str]]:
    """The headers, but for those of `PER_REQUEST_HEADERS`."""
    return [
        (k, v) for k, v in response.headers.multi_items() if k.lower() not in PER_REQUEST_HEADERS
    ]


# --- serving ----------------------------------------------------------------------------------


async def test_the_device_directory_serves_every_file_of_the_device_in_any_case(http, gql, world):
    body = await gql(
        "query($id: ID!) { node(id: $id) { ... on Device { files { name etag content } } } }",
        {"id": world.a.device_id},
        token=world.tree["o1"].token,
    )
    files = body["data"]["node"]["files"]
    assert {f["name"] for f in files} == {
        "0015650a0001.boot",
        "y000000000000.boot",
        "y000000000066.cfg",
        "0015650a0001.cfg",
    }
    for file in files:
        for name in (file["name"], file["name"].upper()):
            response = await http.get(world.a.directory + name, headers={"User-Agent": UA})
            assert response.status_code == 200, name
            assert response.text == file["content"]
            assert response.headers["etag"] == file["etag"]
            assert response.headers["content-type"] == "text/plain; charset=utf-8"
            assert response.headers["cache-control"] == "private, no-cache"
            assert response.headers["last-modified"].endswith(" GMT")
    line = (await http.get(world.a.directory + device_file(MAC_A))).text
    assert f"account.1.user_name = {world.a.line.full_number}" in line
    assert "account.1.password = Line-A-pw-1" in line
    assert f"account.1.sip_server.1.address = {REGISTRAR}" in line


async def test_head_answers_the_headers_of_get_without_a_body(http, world):
    url = world.a.directory + device_file(MAC_A)
    got, head = await http.get(url), await http.head(url)
    assert head.status_code == 200 and head.content == b""
    assert without_date(head) == without_date(got)


async def test_conditional_requests_get_304_for_get_and_head(http, world):
    url = world.a.directory + device_file(MAC_A)
    first = await http.get(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    for method in ("GET", "HEAD"):
        for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            response = await http.request(method, url, headers={"If-None-Match": header})
            assert response.status_code == 304, (method, header)
            assert response.content == b""
            assert response.headers["etag"] == etag
    assert (await http.get(url, headers={"If-None-Match": '"other"'})).status_code == 200
    assert (await http.get(url, headers={"If-Modified-Since": modified})).status_code == 304
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert (await http.get(url, headers={"If-Modified-Since": old})).status_code == 200
    garbage = await http.get(url, headers={"If-Modified-Since": "yesterday-ish"})
    assert garbage.status_code == 200


async def test_every_miss_is_the_same_404_whatever_its_cause(http, world):
    random_key = secrets.token_urlsafe(24)
    other_tenant = device_file(MAC_B)
    misses = [
        ("unknown key", "GET", f"/prov/{random_key}/{device_file(MAC_A)}", {}),
        ("another tenant's file", "GET", world.a.directory + other_tenant, {}),
        ("unknown file name", "GET", world.a.directory + "nothing-here.cfg", {}),
        ("generation disabled", "GET", world.c.directory + device_file(MAC_C), {}),
        ("MAC-based not in force", "GET", "/prov/" + other_tenant, {}),
        ("unknown MAC", "GET", "/prov/0015650fffff.cfg", {}),
        ("no MAC anywhere", "GET", "/prov/y000000000066.cfg", {"User-Agent": "curl/8"}),
        ("short key", "GET", "/prov/abc/" + device_file(MAC_A), {}),
        ("dot dot", "GET", world.a.directory + "..cfg", {}),
        ("overlong name", "GET", "/prov/" + "a" * 300, {}),
        ("sub-directory", "GET", world.a.directory + "logs/x.log", {}),
        ("empty name", "GET", world.a.directory, {}),
        ("PUT to an unknown key", "PUT", f"/prov/{random_key}/x-app.log", {}),
    ]
    seen = set()
    for cause, method, path, headers in misses:
        response = await http.request(method, path, headers=headers)
        assert response.status_code == 404, cause
        seen.add((response.content, tuple(without_date(response))))
    assert len(seen) == 1, seen
    head = await http.head(f"/prov/{random_key}/{device_file(MAC_A)}")
    assert head.status_code == 404 and head.content == b""
    assert tuple(without_date(head)) == next(iter(seen))[1]


async def test_a_valid_key_with_another_tenants_mac_gets_the_same_404(http, world):
    reference = await http.get(f"/prov/{secrets.token_urlsafe(24)}/{device_file(MAC_A)}")
    for directory, foreign in (
        (world.a.directory, MAC_B),
        (world.b.directory, MAC_A),
    ):
        for name in (
            device_file(foreign),
            device_file(foreign).upper(),
            foreign.replace(":", "") + ".boot",
        ):
            response = await http.get(directory + name)
            assert response.status_code == 404
            assert response.content == reference.content
            assert without_date(response) == without_date(reference)


async def test_the_shared_root_serves_devices_with_mac_based_provisioning_in_force(
    http, gql, world
):
    by_name = await http.get("/prov/" + device_file(MAC_A).upper())
    assert by_name.status_code == 200
    assert "Line-A-pw-1" in by_name.text
    common = await http.get("/prov/y000000000066.cfg", headers={"User-Agent": UA})
    assert common.status_code == 200
    assert (await http.get("/prov/y000000000066.cfg")).status_code == 404
    by_query = await http.get("/prov/y000000000066.cfg", params={"mac": "00-15-65-0A-00-01"})
    assert by_query.status_code == 200
    assert (await http.get("/prov/" + device_file(MAC_B))).status_code == 404  # flag off
    await set_preferences(gql, world.tree["admin"].token, allow=False)
    assert (await http.get("/prov/" + device_file(MAC_A))).status_code == 404
    await set_preferences(gql, world.tree["admin"].token, allow=True)
    assert (await http.get("/prov/" + device_file(MAC_A))).status_code == 200


async def test_changes_and_deletions_are_served_at_once(http, gql, world):
    url = world.a.directory + device_file(MAC_A)
    assert "Alice Desk" in (await http.get(url)).text  # cached from here on
    await gql(
        'mutation($id: ID!) { updateExtension(id: $id, name: "Front Desk") { userErrors { code } } }',
        {"id": world.a.line.extension_id},
        token=world.tree["o1"].token,
    )
    assert "Front Desk" in (await http.get(url)).text
    rotated = await gql(
        """mutation($id: ID!) { rotateDeviceKey(deviceId: $id) {
        device { provisioningLinks { kind url } } } }""",
        {"id": world.a.device_id},
        token=world.tree["o1"].token,
    )
    assert (await http.get(url)).status_code == 404
    new_url = rotated["data"]["rotateDeviceKey"]["device"]["provisioningLinks"][0]["url"]
    new_directory = "/" + new_url.split("/", 3)[3]
    assert (await http.get(new_directory + device_file(MAC_A))).status_code == 200
    await gql(
        "mutation($id: ID!) { unprovisionDevice(extensionId: $id) { userErrors { code } } }",
        {"id": world.a.line.extension_id},
        token=world.tree["o1"].token,
    )
    assert (await http.get(new_directory + device_file(MAC_A))).status_code == 404
    assert (await http.get("/prov/" + device_file(MAC_A))).status_code == 404


# --- malformed requests -----------------------------------------------------------------------

MALFORMED = [
    b"/prov/%2Fetc%2Fpasswd",
    b"/prov/KEY/a%2Fb.cfg",
    b"/prov/KEY/a%5Cb.cfg",
    b"/prov/KEY/file%00.cfg",
    b"/prov/KEY/%0d%0aSet-Cookie:x",
    b"/prov/KEY/%",
    b"/prov/KEY/%zz.cfg",
    b"/prov/KEY/%C0%AE%C0%AE",
    b"/prov/KEY/%ff%fe.cfg",
    b"/prov/KEY/\xff\xfe.cfg",
    b"/prov/../graphql",
    b"/prov/KEY/../KEY/x.cfg",
    b"/prov/KEY/..",
    b"/prov/KEY/.",
    b"/prov/KEY/" + b"a" * 256,
    b"/prov/KEY/" + b"%41" * 300,
    b"/prov/" + b"b" * 5000,
    b"/prov//",
    b"/prov///x",
    b"/prov/KEY//x.cfg",
    b"/prov/KEY/x.cfg/",
    b"/prov/KEY/%252F.cfg",
    b"/prov/" + "ümlaut.cfg".encode(),
]


async def test_malformed_paths_get_4xx_never_5xx(app, world):
    key = world.a.key.encode()
    for index, raw in enumerate(MALFORMED):
        client = (f"192.0.2.{index + 1}", 5060)  # one address each: misses add up to a ban
        for method in ("GET", "HEAD", "PUT"):
            path = raw.replace(b"KEY", key)
            status, _headers, _body = await raw_request(app, method, path, client=client)
            assert status in (400, 404), (raw, method, status)


async def test_malformed_requests_over_real_http_get_4xx(engine, settings, world):
    async with live_server(create_app(settings, engine)) as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        for target in (b"/prov/a%00b", b"/prov/\xff\xfe", b"/prov/" + b"x" * 8000, b"/prov/%"):
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            await writer.drain()
            status_line = await reader.readline()
            writer.close()
            status = int(status_line.split()[1])
            assert 400 <= status < 500, (target, status_line)


# --- uploads and methods ----------------------------------------------------------------------


async def test_put_of_phone_logs_gets_204_and_big_bodies_413(http, world):
    log = world.a.directory + "0015650a0001-app.log"
    assert (await http.put(log, content=b"boot ok\n" * 1000)).status_code == 204
    assert (await http.put(log, content=b"x" * (1024 * 1024))).status_code == 204
    too_big = await http.put(log, content=b"x" * (1024 * 1024 + 1))
    assert too_big.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"y" * 65536

    assert (await http.put(log, content=chunks())).status_code == 413
    assert (await http.put("/prov/0015650a0001-app.log", content=b"ok")).status_code == 204
    assert (await http.put("/prov/0015650b0002-app.log", content=b"ok")).status_code == 404
    for method in ("POST", "DELETE", "OPTIONS", "PATCH", "TRACE"):
        response = await http.request(method, log)
        assert response.status_code == 405, method
        assert response.headers["allow"] == "GET, HEAD, PUT"


# --- HTTP Digest ------------------------------------------------------------------------------


def digest_header(
    challenge: str, user: str, password: str, uri: str, nc: int, method: str = "GET"
) -> str:
    params = parse_digest_header(challenge)
    assert params is not None
    cnonce = "0a4f113b"
    response = compute_response(
        algorithm=params["algorithm"],
        username=user,
        realm=params["realm"],
        password=password,
        method=method,
        uri=uri,
        nonce=params["nonce"],
        nc=f"{nc:08x}",
        cnonce=cnonce,
    )
    return (
        f'Digest username="{user}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
        f'uri="{uri}", algorithm={params["algorithm"]}, qop=auth, nc={nc:08x}, '
        f'cnonce="{cnonce}", response="{response}", opaque="{params["opaque"]}"'
    )


async def test_http_digest_accepts_the_device_credentials_and_refuses_replays(http, gql, world):
    line = world.a.line
    device = await provision_on(
        gql, world.tree["o1"].token, line, MAC_A, YEALINK, protocol="HTTP", auth=True
    )
    assert device.http_user == f"prov-{_id(device)}"
    assert device.http_password and len(device.http_password) >= 24
    uri = world.a.directory + device_file(MAC_A)
    challenge = await http.get(uri)
    assert challenge.status_code == 401
    offers = challenge.headers.get_list("www-authenticate")
    assert [parse_digest_header(o)["algorithm"] for o in offers] == ["SHA-256", "MD5"]
    for algorithm in (0, 1):  # both offers share one nonce: take a fresh challenge for each
        offer = (await http.get(uri)).headers.get_list("www-authenticate")[algorithm]
        header = digest_header(offer, device.http_user, device.http_password, uri, 1)
        accepted = await http.get(uri, headers={"Authorization": header})
        assert accepted.status_code == 200
        assert "Line-A-pw-1" in accepted.text
        replayed = await http.get(uri, headers={"Authorization": header})
        assert replayed.status_code == 401
        again = digest_header(offer, device.http_user, device.http_password, uri, 2)
        assert (await http.get(uri, headers={"Authorization": again})).status_code == 200
    wrong = digest_header(offers[0], device.http_user, "not-the-password", uri, 1)
    assert (await http.get(uri, headers={"Authorization": wrong})).status_code == 401
    head = digest_header(offers[0], device.http_user, device.http_password, uri, 9, "HEAD")
    assert (await http.head(uri, headers={"Authorization": head})).status_code == 200
    # The shared root never challenges: a device that needs credentials is served from its
    # own directory only, even with the right ones.
    root = "/prov/" + device_file(MAC_A)
    assert (await http.get(root)).status_code == 404
    header = digest_header(offers[0], device.http_user, device.http_password, root, 1)
    assert (await http.get(root, headers={"Authorization": header})).status_code == 404
    # Switched off again: served without credentials at once.
    await provision_on(gql, world.tree["o1"].token, line, MAC_A, YEALINK, auth=False)
    assert (await http.get(uri)).status_code == 200


def _id(device: Provisioned) -> int:
    return int(base64.b64decode(device.device_id).decode().split(":")[1])


async def test_http_auth_credentials_are_readable_only_with_modify(gql, world):
    token = world.tree["o1"].token
    await provision_on(gql, token, world.a.line, MAC_A, YEALINK, auth=True)
    query = """query($id: ID!) { node(id: $id) { ... on Device {
      viewerProvisioning httpAuthUsername httpAuthPassword } } }"""
    mine = (await gql(query, {"id": world.a.device_id}, token=token))["data"]["node"]
    assert mine["httpAuthUsername"] and mine["httpAuthPassword"]
    await gql(
        """mutation($id: ID!) { updateExtension(id: $id, provisioning: VIEW) {
        userErrors { code } } }""",
        {"id": world.a.line.extension_id},
        token=world.tree["admin"].token,
    )
    seen = (await gql(query, {"id": world.a.device_id}, token=token))["data"]["node"]
    assert seen["viewerProvisioning"] == "VIEW"
    assert seen["httpAuthUsername"] is None and seen["httpAuthPassword"] is None
    admin = await gql(query, {"id": world.a.device_id}, token=world.tree["admin"].token)
    assert admin["data"]["node"]["httpAuthPassword"] == mine["httpAuthPassword"]


# --- last contact, metrics, access log --------------------------------------------------------


async def test_last_contact_is_written_in_one_batch_not_per_request(app, http, gql, world, engine):
    updates: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        for _ in range(20):
            response = await http.get(
                world.a.directory + device_file(MAC_A), headers={"User-Agent": UA}
            )
            assert response.status_code == 200
        await http.get(world.b.directory + "y000000000066.cfg", headers={"User-Agent": "x/1"})
        assert updates == []
        assert await app.state.contacts.flush() == 2
        assert len(updates) == 1
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", on_execute)
    query = """query($id: ID!) { node(id: $id) { ... on Device {
      lastContact { at address userAgent firmware } updatedAt } } }"""
    node = (await gql(query, {"id": world.a.device_id}, token=world.tree["o1"].token))["data"][
        "node"
    ]
    assert node["lastContact"]["address"] == CLIENT[0]
    assert node["lastContact"]["userAgent"] == UA
    assert node["lastContact"]["firmware"] == "66.86.0.15"
    assert node["updatedAt"] < node["lastContact"]["at"]  # a contact is not a change


async def test_metrics_count_requests_misses_bans_and_regenerations(http, world):
    url = world.a.directory + device_file(MAC_A)
    etag = (await http.get(url)).headers["etag"]
    await http.get(url, headers={"If-None-Match": etag})
    await http.get(world.a.directory + "nope.cfg")  # an identified phone: not scanning
    await http.get(f"/prov/{secrets.token_urlsafe(24)}/nope.cfg")
    scrape = parse_scrape((await http.get("/metrics")).text)
    route = {"route": "/prov/{key}/{file}", "method": "GET"}
    requests = "magnaprov_device_requests_total"
    assert scrape.value(requests, **route, status="200") == 1
    assert scrape.value(requests, **route, status="304") == 1
    assert scrape.value(requests, **route, status="404") == 2
    assert scrape.value("magnaprov_device_not_modified_total") == 1
    assert scrape.value("magnaprov_device_misses_total") == 1
    assert scrape.value("magnaprov_device_bans_total") == 0
    regenerations = scrape.value("magnaprov_file_regenerations_total")
    assert regenerations is not None and regenerations >= 3  # three devices, at least once each
    assert scrape.types["magnaprov_file_cache_bytes"] == "gauge"


async def test_metrics_add_up_across_scrapes_rather_than_counting_twice(http, world):
    url = world.a.directory + device_file(MAC_A)
    first = parse_scrape((await http.get("/metrics")).text)
    for _ in range(3):
        await http.get(url)
    second = parse_scrape((await http.get("/metrics")).text)
    await http.get(url)
    third = parse_scrape((await http.get("/metrics")).text)
    labels = {"route": "/prov/{key}/{file}", "method": "GET", "status": "200"}
    counts = [
        s.value("magnaprov_device_requests_total", **labels) or 0 for s in (first, second, third)
    ]
    assert counts == [0, 3, 4]


async def test_one_access_line_per_fetch_names_the_device_never_its_key(
    engine, settings, world, tmp_path
):
    log_file = tmp_path / "access.log"
    app = create_app(settings.model_copy(update={"access_log": str(log_file)}), engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=CLIENT)
        async with httpx.AsyncClient(transport=transport, base_url="http://prov.test") as http:
            fetched = await http.get(
                world.a.directory + device_file(MAC_A), headers={"User-Agent": UA}
            )
            await http.get(f"/prov/{world.a.key}/missing.cfg")
    # Written in batches; the last one when the app stops.
    served, missed = log_file.read_text().splitlines()
    fields = dict(part.split("=", 1) for part in served.split()[2:])
    assert served.split()[1] == "access"
    assert fields["device"] == str(_id(world.a)) and fields["status"] == "200"
    assert int(fields["bytes"]) > 0 and fields["client"] == CLIENT[0]
    assert fields["route"] == "/prov/{key}/{file}" and fields["file"] == device_file(MAC_A)
    assert fields["method"] == "GET" and float(fields["ms"]) >= 0
    assert fields["request_id"] == fetched.headers["x-request-id"]
    assert "status=404" in missed and "file=missing.cfg" in missed
    assert world.a.key not in log_file.read_text()


async def test_access_lines_in_json_mode_parse_and_name_the_request_never_the_key(
    engine, settings, world, tmp_path
):
    log_file = tmp_path / "access.log"
    json_settings = settings.model_copy(update={"access_log": str(log_file), "log_format": "json"})
    app = create_app(json_settings, engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=CLIENT)
        async with httpx.AsyncClient(transport=transport, base_url="http://prov.test") as http:
            served = await http.get(
                world.a.directory + device_file(MAC_A),
                headers={"User-Agent": UA, "X-Request-ID": "boot-0001"},
            )
            missed = await http.get(f"/prov/{world.a.key}/%22odd%20n%C3%A4me.cfg")
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [line["request_id"] for line in lines] == ["boot-0001", missed.headers["x-request-id"]]
    first, second = lines
    assert served.headers["x-request-id"] == "boot-0001"
    assert {"time", "level", "worker", "logger", "event"} <= first.keys()
    assert first["event"] == "access" and first["device"] == _id(world.a)
    assert first["status"] == 200 and first["bytes"] == len(served.content)
    assert first["route"] == "/prov/{key}/{file}" and first["file"] == device_file(MAC_A)
    assert second["status"] == 404 and second["file"] == '"odd näme.cfg'
    assert world.a.key not in log_file.read_text()


# --- the database going away ------------------------------------------------------------------


async def listening(app: Any) -> None:
    """Wait for the PostgreSQL change listener (no-op on SQLite)."""
    store = app.state.file_store
    for _ in range(500):
        if store.listening or is_sqlite(str(app.state.engine.url)):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the change listener did not connect")


async def test_an_unreachable_database_still_serves_what_is_cached(settings, world, http):
    flaky, state = switchable_engine(settings.database_url)
    app = create_app(settings, flaky)
    cached = world.a.directory + device_file(MAC_A)
    uncached = world.b.directory + device_file(MAC_B)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=CLIENT)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                await listening(app)  # connecting clears the cache: wait for it first
                assert (await client.get(cached)).status_code == 200
                # The read that loaded it keeps its connection for the batch window: past it,
                # every look-up needs a new connection, which now fails.
                await asyncio.sleep(BATCH_WINDOW_SECONDS * 4)
                state["down"] = True
                assert (await client.get(cached)).status_code == 200
                unavailable = await client.get(uncached)
                assert unavailable.status_code == 503
                assert unavailable.headers["retry-after"] == "30"
                # Without the change listener (PostgreSQL) the cache is a fallback only.
                await app.state.file_store.stop()
                assert (await client.get(cached)).status_code == 200
                state["down"] = False
                await asyncio.sleep(1.05)  # the store leaves a failed database alone for 1 s
                assert (await client.get(uncached)).status_code == 200
    finally:
        await flaky.dispose()


async def test_look_ups_missing_the_cache_together_are_read_in_one_statement(
    app, http, world, engine
):
    # A boot storm: many phones ask at once for devices nobody has cached yet.
    store = app.state.file_store
    store.invalidate(None)
    keys = [world.a.key, world.b.key, world.c.key, secrets.token_urlsafe(24)]
    macs = [MAC_A, MAC_B, "00:15:65:ff:ff:ff"]
    device_reads: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if "FROM device" in statement:
            device_reads.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        by_key = await asyncio.gather(*(store.by_key(key) for key in keys * 10))
        by_mac = await asyncio.gather(*(store.by_mac(mac) for mac in macs * 10))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", on_execute)
    # One statement per index, not one per look-up.
    assert len(device_reads) == 2, device_reads
    found = dict(zip(keys * 10, by_key, strict=True))
    assert found[keys[-1]] is None
    assert {found[world.a.key].mac, found[world.b.key].mac} == {MAC_A, MAC_B}
    assert found[world.c.key] is not None and not found[world.c.key].generation_enabled
    assert [device is None for device in by_mac[:3]] == [False, False, True]
    # Everything found is cached now: the same look-ups read nothing.
    device_reads.clear()
    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        await asyncio.gather(*(store.by_key(key) for key in keys[:3]))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", on_execute)
    assert device_reads == []
    response = await http.get(world.a.directory + device_file(MAC_A), headers={"User-Agent": UA})
    assert response.status_code == 200
