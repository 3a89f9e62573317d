"""A change committed through one server process is what another serves next: two real
uvicorn processes on one PostgreSQL database, each with its own file cache."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from account_tree import build_tree
from conftest import TEST_KEYRING, GraphQL, make_settings
from metric_samples import parse_scrape
from phone_simulators import REGISTRAR, add_line, provision_on, set_preferences
from sqlalchemy import text

from magnaprov.db import create_session_factory
from magnaprov.resolvers import Services
from magnaprov.serve.change_listener import LISTENER_NAME

YEALINK = {"manufacturer": "yealink", "model": "T46S", "firmware": "V81"}
MAC = "00:15:65:f2:e5:01"
DEVICE_FILE = "001565f2e501.cfg"
SET_PASSWORD = """mutation($id: ID!, $pw: String!) {
  updateSipPreferences(extensionId: $id, phonePassword: $pw, phonePasswordConfirmation: $pw) {
    userErrors { code } } }"""


@pytest.fixture
def servers(migrated_postgres: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two `uvicorn --factory magnaprov.serve.app:create_served_app` processes on loopback ports."""
    env = {
        **os.environ,
        "MAGNAPROV_DATABASE_URL": migrated_postgres,
        "MAGNAPROV_SECRETS_KEYS": TEST_KEYRING,
        "MAGNAPROV_ARGON2_TIME_COST": "1",
        "MAGNAPROV_ARGON2_MEMORY_KIB": "64",
        "MAGNAPROV_ARGON2_PARALLELISM": "1",
    }
    processes, urls, sockets = [], [], []
    try:
        for _ in range(2):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
            urls.append(f"http://127.0.0.1:{sock.getsockname()[1]}")
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "magnaprov.serve.app:create_served_app",
                "--fd",
                str(sock.fileno()),
                "--log-level",
                "warning",
                "--no-server-header",
            ]
            processes.append(
                subprocess.Popen(command, env=env, cwd=tmp_path, pass_fds=(sock.fileno(),))
            )
        yield urls[0], urls[1]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)
        for sock in sockets:
            sock.close()


async def ready(http: httpx.AsyncClient) -> None:
    """Wait until the process answers and its change listener is up."""
    for _ in range(300):
        try:
            metrics = (await http.get("/metrics")).text
        except httpx.TransportError:
            metrics = ""
        if metrics and parse_scrape(metrics).value("magnaprov_file_change_listener_up") == 1:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("server did not start")


async def served(
    http: httpx.AsyncClient, path: str, check: Callable[[httpx.Response], bool]
) -> httpx.Response:
    """The answer once it passes `check`: another process hears of a commit within
    milliseconds (PostgreSQL's notification), not at the same instant. Two seconds at most."""
    for _ in range(40):
        response = await http.get(path)
        if check(response):
            return response
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path}: still {response.status_code} {response.text[:200]!r}")


def has(text: str) -> Callable[[httpx.Response], bool]:
    return lambda response: text in response.text


def status(code: int) -> Callable[[httpx.Response], bool]:
    return lambda response: response.status_code == code


def counter(metrics: str, name: str) -> int:
    found = parse_scrape(metrics).value(name)
    assert found is not None, name
    return int(found)


async def test_a_change_through_one_process_is_served_by_the_other_within_milliseconds(
    pg_engine, migrated_postgres, servers
):
    url_a, url_b = servers
    services = Services.from_settings(make_settings(migrated_postgres))
    tree = await build_tree(create_session_factory(pg_engine), services)
    token = tree["o1"].token
    async with httpx.AsyncClient(base_url=url_a) as a, httpx.AsyncClient(base_url=url_b) as b:
        await asyncio.gather(ready(a), ready(b))
        gql = GraphQL(a)
        await set_preferences(gql, tree["admin"].token, allow=True, registrar=REGISTRAR)
        line = await add_line(gql, token, tree["u1"].gid, "Two Procs", "First-pw-0")
        device = await provision_on(gql, token, line, MAC, YEALINK, protocol="HTTP", macBased=True)
        url = device.directory + DEVICE_FILE
        for _ in range(2):  # the second answer comes from B's cache
            assert "account.1.password = First-pw-0" in (await b.get(url)).text
        assert counter((await b.get("/metrics")).text, "magnaprov_file_cache_hits_total") >= 1

        for round_ in range(1, 6):
            await gql(SET_PASSWORD, {"id": line.extension_id, "pw": f"Changed-pw-{round_}"}, token)
            await served(b, url, has(f"account.1.password = Changed-pw-{round_}"))
            await served(
                b, "/prov/" + DEVICE_FILE, has(f"account.1.password = Changed-pw-{round_}")
            )

        rotated = await gql(
            """mutation($id: ID!) { rotateDeviceKey(deviceId: $id) {
            device { provisioningLinks { kind url } } } }""",
            {"id": device.device_id},
            token,
        )
        await served(b, url, status(404))
        new_link = rotated["data"]["rotateDeviceKey"]["device"]["provisioningLinks"][0]["url"]
        new_url = "/" + new_link.split("/", 3)[3] + DEVICE_FILE
        await served(b, new_url, status(200))

        await set_preferences(gql, tree["admin"].token, allow=False)
        await served(b, "/prov/" + DEVICE_FILE, status(404))
        await served(b, new_url, status(200))

        await provision_on(gql, token, line, MAC, YEALINK, generation=False)
        await served(b, new_url, status(404))
        await provision_on(gql, token, line, MAC, YEALINK, generation=True)
        await served(b, new_url, status(200))

        # Listeners cut off: B must not trust its cache until it listens again, then drops it.
        before = counter(
            (await b.get("/metrics")).text, "magnaprov_file_cache_full_invalidations_total"
        )
        async with pg_engine.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": LISTENER_NAME},
            )
            await connection.commit()
        await gql(SET_PASSWORD, {"id": line.extension_id, "pw": "While-deaf-1"}, token)
        await served(b, new_url, has("account.1.password = While-deaf-1"))
        await ready(b)
        metrics = (await b.get("/metrics")).text
        assert counter(metrics, "magnaprov_file_cache_full_invalidations_total") > before
        await gql(SET_PASSWORD, {"id": line.extension_id, "pw": "Heard-again-2"}, token)
        await served(b, new_url, has("account.1.password = Heard-again-2"))

        await gql(
            "mutation($id: ID!) { unprovisionDevice(extensionId: $id) { userErrors { code } } }",
            {"id": line.extension_id},
            token,
        )
        await served(b, new_url, status(404))
        metrics = (await b.get("/metrics")).text
        assert counter(metrics, "magnaprov_file_regenerations_total") >= 8


async def test_a_mac_one_process_found_unknown_is_served_there_once_another_provisions_it(
    pg_engine, migrated_postgres, servers
):
    url_a, url_b = servers
    services = Services.from_settings(make_settings(migrated_postgres))
    tree = await build_tree(create_session_factory(pg_engine), services)
    token = tree["o1"].token
    async with httpx.AsyncClient(base_url=url_a) as a, httpx.AsyncClient(base_url=url_b) as b:
        await asyncio.gather(ready(a), ready(b))
        gql = GraphQL(a)
        await set_preferences(gql, tree["admin"].token, allow=True, registrar=REGISTRAR)
        for _ in range(2):  # the second answer comes from B's memory of the unknown MAC
            assert (await b.get("/prov/" + DEVICE_FILE)).status_code == 404
        line = await add_line(gql, token, tree["u1"].gid, "Late Comer", "Late-Comer-pw-0")
        await provision_on(gql, token, line, MAC, YEALINK, protocol="HTTP", macBased=True)
        await served(b, "/prov/" + DEVICE_FILE, has("account.1.password = Late-Comer-pw-0"))
