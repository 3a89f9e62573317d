"""The admin bootstrap and the `magnaprov` command, run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from conftest import TEST_KEYRING
from sqlalchemy import select

from magnaprov.db import Account, Role
from magnaprov.resolvers.bootstrap import ensure_admin

COMMAND = [sys.executable, "-m", "magnaprov.cli"]


def run_cli(*args: str, database_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "MAGNAPROV_DATABASE_URL": database_url,
        "MAGNAPROV_ARGON2_TIME_COST": "1",
        "MAGNAPROV_ARGON2_MEMORY_KIB": "64",
        "MAGNAPROV_ARGON2_PARALLELISM": "1",
        "MAGNAPROV_SECRETS_KEYS": TEST_KEYRING,
        **env,
    }
    environment.pop(
        "MAGNAPROV_ADMIN_PASSWORD", None
    ) if "MAGNAPROV_ADMIN_PASSWORD" not in env else None
    return subprocess.run(
        [*COMMAND, *args], env=environment, capture_output=True, text=True, timeout=120, check=False
    )


async def admin_rows(session_factory: Any) -> list[Account]:
    async with session_factory() as session:
        return list(await session.scalars(select(Account).where(Account.role == Role.ADMIN)))


async def test_first_start_creates_the_admin_once_and_a_second_leaves_it_alone(
    session_factory, services
):
    async with session_factory() as session:
        first = await ensure_admin(session, services, None)
    assert first.created and first.generated_password
    [before] = await admin_rows(session_factory)
    async with session_factory() as session:
        second = await ensure_admin(session, services, "Another-Password-1")
    assert not second.created and second.generated_password is None
    [after] = await admin_rows(session_factory)
    assert (after.password_hash, after.updated_at) == (before.password_hash, before.updated_at)
    assert after.tree_path == f"/{after.id}/"


async def test_create_admin_prints_a_generated_password_once(settings):
    url = settings.database_url
    first = run_cli("create-admin", database_url=url)
    assert first.returncode == 0, first.stderr
    assert "Login: admin  Password: " in first.stdout
    password = first.stdout.split("Password: ")[1].split()[0]
    second = run_cli("create-admin", database_url=url)
    assert second.returncode == 0, second.stderr
    assert "Password" not in second.stdout
    assert password not in second.stdout + second.stderr


async def test_create_admin_takes_the_password_from_the_environment(settings, gql):
    given = "Env-Given-Password-77"
    result = run_cli(
        "create-admin", database_url=settings.database_url, MAGNAPROV_ADMIN_PASSWORD=given
    )
    assert result.returncode == 0, result.stderr
    assert given not in result.stdout
    login = await gql(f'mutation {{ login(login: "admin", password: "{given}") {{ token }} }}')
    assert login["data"]["login"]["token"]


async def test_create_admin_refuses_a_weak_environment_password(settings):
    result = run_cli(
        "create-admin", database_url=settings.database_url, MAGNAPROV_ADMIN_PASSWORD="short"
    )
    assert result.returncode != 0
    assert "at least 10 characters" in result.stderr + result.stdout


async def test_demo_fills_a_believable_tree_and_prints_the_logins(settings, gql):
    result = run_cli("demo", database_url=settings.database_url)
    assert result.returncode == 0, result.stderr
    rows = [
        line.split()
        for line in result.stdout.splitlines()
        if line.startswith(("PROVIDER", "ORGANIZATION", "USER"))
    ]
    roles = [row[0] for row in rows]
    assert (roles.count("PROVIDER"), roles.count("ORGANIZATION"), roles.count("USER")) == (2, 3, 6)
    login, password = rows[-1][-2], rows[-1][-1]
    body = await gql(f'mutation {{ login(login: "{login}", password: "{password}") {{ token }} }}')
    viewer = await gql(
        "query { viewer { role effectivePermissions { provisioning } } }",
        token=body["data"]["login"]["token"],
    )
    assert viewer["data"]["viewer"]["role"] == "USER"
    reset = run_cli(
        "create-admin",
        "--reset",
        database_url=settings.database_url,
        MAGNAPROV_ADMIN_PASSWORD="Demo-Root-Pass-1",
    )
    assert reset.returncode == 0, reset.stderr
    admin_password = "Demo-Root-Pass-1"
    admin = await gql(
        f'mutation {{ login(login: "admin", password: "{admin_password}") {{ token }} }}'
    )
    devices = await gql(
        "query { devices { totalCount nodes { manufacturer files { name } } } }",
        token=admin["data"]["login"]["token"],
    )
    assert devices["data"]["devices"]["totalCount"] == 6
    assert all(node["files"] for node in devices["data"]["devices"]["nodes"])
    again = run_cli("demo", database_url=settings.database_url)
    assert again.returncode != 0 and "exist already" in again.stderr + again.stdout


@pytest.mark.parametrize("command", [[], ["serve"], ["migrate"], ["create-admin"], ["demo"]])
def test_every_command_has_help(command):
    result = subprocess.run(
        [*COMMAND, *command, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
