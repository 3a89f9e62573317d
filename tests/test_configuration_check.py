"""`magnaprov check`, run as a real process: each finding reported when it applies, not when it
does not; exit status 1 with problems, 0 without."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from account_tree import build_tree
from certificates import Authority
from conftest import TEST_KEYRING
from device_fixtures import provision
from extension_fixtures import create_extension
from sqlalchemy import text
from sqlalchemy.engine import make_url

from magnaprov.db import is_sqlite

PUBLIC_HOST = "198.51.100.7"  # not loopback: phones elsewhere could reach it
SET_PREFERENCES = """mutation($registrar: String, $base: String, $tftp: Boolean,
                              $networks: [String!]) {
  updateGlobalPreferences(registrarHost: $registrar, baseUrl: $base, tftpEnabled: $tftp,
                          tftpAllowedNetworks: $networks) {
    globalPreferences { warnings { code message advice } }
    userErrors { field code }
  }
}"""


def run_check(database_url: str, **env: str) -> tuple[int, set[str], str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("MAGNAPROV_")
    }
    environment.update(
        {
            "MAGNAPROV_DATABASE_URL": database_url,
            "MAGNAPROV_SECRETS_KEYS": TEST_KEYRING,
            "MAGNAPROV_HOST": PUBLIC_HOST,
            "MAGNAPROV_TFTP_HOST": PUBLIC_HOST,
            **env,
        }
    )
    done = subprocess.run(
        [sys.executable, "-m", "magnaprov.cli", "check"],
        env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    found = {line.split("]")[0][1:] for line in done.stdout.splitlines() if line.startswith("[")}
    return done.returncode, found, done.stdout + done.stderr


async def check(settings: Any, **env: str) -> tuple[int, set[str], str]:
    return await asyncio.to_thread(run_check, settings.database_url, **env)


async def set_preferences(gql: Any, token: str, **values: Any) -> dict[str, Any]:
    variables = {"registrar": "pbx.voip-operator.com", **values}
    body = await gql(SET_PREFERENCES, variables, token=token)
    payload: dict[str, Any] = body["data"]["updateGlobalPreferences"]
    assert payload["userErrors"] == [], payload
    return payload


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> Any:
    return await build_tree(session_factory, services)


@pytest.fixture
def private_database(settings: Any) -> None:
    """The SQLite file owner-only, as a careful installation keeps it."""
    if is_sqlite(settings.database_url):
        Path(make_url(settings.database_url).database or "").chmod(0o600)


async def test_a_clean_installation_reports_nothing_and_exits_0(
    gql, tree, settings, private_database
):
    await set_preferences(gql, tree["admin"].token)
    status, found, output = await check(settings)
    assert (status, found) == (0, set()), output
    assert "No problems found." in output


async def test_the_placeholder_registrar_is_reported_until_set(gql, tree, settings):
    _status, found, _output = await check(settings)
    assert "REGISTRAR_PLACEHOLDER" in found
    await set_preferences(gql, tree["admin"].token)
    assert "REGISTRAR_PLACEHOLDER" not in (await check(settings))[1]


async def test_a_loopback_listener_is_reported_as_unreachable_by_phones(gql, tree, settings):
    await set_preferences(gql, tree["admin"].token)
    status, found, output = await check(settings, MAGNAPROV_HOST="127.0.0.1")
    assert status == 1 and "BASE_URL_UNREACHABLE" in found, output
    assert "BASE_URL_UNREACHABLE" not in (await check(settings))[1]


async def test_a_public_base_url_on_another_port_than_the_listener_is_reported(gql, tree, settings):
    await set_preferences(gql, tree["admin"].token, base=f"http://{PUBLIC_HOST}:9000")
    assert "BASE_URL_MISMATCH" in (await check(settings, MAGNAPROV_PORT="8000"))[1]
    assert "BASE_URL_MISMATCH" not in (await check(settings, MAGNAPROV_PORT="9000"))[1]


async def test_tftp_without_allowed_networks_is_reported(gql, tree, settings, engine):
    await set_preferences(gql, tree["admin"].token)
    # The API refuses it now; a database of an earlier release may still hold it.
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE global_preferences SET tftp_enabled = true, tftp_allowed_networks = ''")
        )
    assert "TFTP_OPEN" in (await check(settings))[1]
    await set_preferences(gql, tree["admin"].token, tftp=True, networks=["192.0.2.0/24"])
    assert "TFTP_OPEN" not in (await check(settings))[1]


async def test_devices_whose_links_cannot_work_are_counted_with_their_macs(gql, tree, settings):
    await set_preferences(gql, tree["admin"].token)
    extension = await create_extension(gql, tree["o1"].token, tree["u1"].gid, "Desk")
    payload = await provision(
        gql, tree["o1"].token, extension["extension"]["id"], "00:15:65:aa:bb:07", protocol="TFTP"
    )
    assert payload["userErrors"] == []
    _status, found, output = await check(settings)
    assert "DEVICE_LINKS_BROKEN" in found and "1 device(s)" in output
    assert "00:15:65:aa:bb:07" in output
    await set_preferences(gql, tree["admin"].token, tftp=True, networks=["192.0.2.0/24"])
    assert "DEVICE_LINKS_BROKEN" not in (await check(settings))[1]


async def test_https_devices_without_tls_are_reported_and_not_once_tls_is_served(
    gql, tree, settings, engine, tmp_path
):
    await set_preferences(gql, tree["admin"].token)
    extension = await create_extension(gql, tree["o1"].token, tree["u1"].gid, "Desk")
    payload = await provision(
        gql, tree["o1"].token, extension["extension"]["id"], "00:15:65:aa:bb:08"
    )
    assert payload["userErrors"] == []
    async with engine.begin() as connection:  # a device saved before HTTPS was checked
        await connection.execute(text("UPDATE device SET update_protocol = 'HTTPS'"))
    _status, found, _output = await check(settings)
    assert {"HTTPS_WITHOUT_TLS", "DEVICE_LINKS_BROKEN"} <= found
    server = Authority.create("Server", tmp_path).issue("server", PUBLIC_HOST, ips=(PUBLIC_HOST,))
    tls = {"MAGNAPROV_TLS_CERT_FILE": str(server.cert), "MAGNAPROV_TLS_KEY_FILE": str(server.key)}
    found = (await check(settings, **tls))[1]
    assert not {"HTTPS_WITHOUT_TLS", "DEVICE_LINKS_BROKEN"} & found


async def test_tls_files_unreadable_expiring_or_exposed_are_reported(gql, tree, settings, tmp_path):
    await set_preferences(gql, tree["admin"].token)
    authority = Authority.create("Server", tmp_path)
    good = authority.issue("good", PUBLIC_HOST, days=365)
    soon = authority.issue("soon", PUBLIC_HOST, days=10)

    def tls(cert: Path, key: Path) -> dict[str, str]:
        return {"MAGNAPROV_TLS_CERT_FILE": str(cert), "MAGNAPROV_TLS_KEY_FILE": str(key)}

    tls_codes = {"TLS_FILE_UNREADABLE", "TLS_CERT_EXPIRING", "TLS_KEY_EXPOSED"}
    assert not tls_codes & (await check(settings, **tls(good.cert, good.key)))[1]
    missing = tmp_path / "missing.pem"
    assert "TLS_FILE_UNREADABLE" in (await check(settings, **tls(missing, good.key)))[1]
    assert "TLS_CERT_EXPIRING" in (await check(settings, **tls(soon.cert, soon.key)))[1]
    good.key.chmod(0o644)
    assert "TLS_KEY_EXPOSED" in (await check(settings, **tls(good.cert, good.key)))[1]


# PostgreSQL keeps no database file here: this one runs on SQLite alone.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_sqlite_file_readable_by_others_is_reported(gql, tree, settings):
    path = Path(make_url(settings.database_url).database or "")
    path.chmod(0o644)  # noqa: ASYNC240 - one system call, before the check runs
    assert "DATABASE_EXPOSED" in (await check(settings))[1]
    path.chmod(0o600)  # noqa: ASYNC240
    assert "DATABASE_EXPOSED" not in (await check(settings))[1]
