"""`magnaprov rotate-key` beside a running `magnaprov serve`: renders keep working throughout,
and afterwards the server reads every secret and writes new ones under the new key, without
a restart. Both ways: the key file, and MAGNAPROV_SECRETS_KEYS in the documented order (the
server already holds the new key first, the old one after it).
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from account_tree import Member, build_tree
from conftest import TEST_KEYRING, GraphQL, make_settings
from device_fixtures import provision
from extension_fixtures import create_extension
from live_process import graphql, serve_process, wait_until
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from magnaprov.db import Device, RenderedFile, SipPreferences, create_session_factory
from magnaprov.db.device import rendered_file_identity
from magnaprov.resolvers import Services
from magnaprov.schema.node import decode_id
from magnaprov.serve.app import create_app
from magnaprov.tenancy.secrets import SecretBox, fresh_keyring, load_keyring, parse_keyring

SET_PASSWORD = """mutation($id: ID!, $p: String!) { updateSipPreferences(extensionId: $id,
  phonePassword: $p, phonePasswordConfirmation: $p) { userErrors { code } } }"""
REGENERATE = """mutation($id: ID!) { regenerateProvisioningFiles(deviceIds: [$id]) {
  summary { devices failures { reason } } userErrors { code } } }"""
ADMIN_PASSWORD = "query($id: ID!) { node(id: $id) { ... on Device { adminPassword } } }"
ADMIN_SECRET = "Adm1n-Rotated-Pw"
GRACE_SECONDS = 2


@dataclass
class Line:
    extension_id: str
    device_id: str
    url: str  # the phone's per-device file


async def build(engine: AsyncEngine, services: Services) -> tuple[dict[str, Member], Line]:
    tree = await build_tree(create_session_factory(engine), services)
    app = create_app(services.settings, engine)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        gql = GraphQL(http)
        token = tree["o1"].token
        extension = (await create_extension(gql, token, tree["u1"].gid, "Rotating"))["extension"]
        body = await gql(SET_PASSWORD, {"id": extension["id"], "p": "Before-Rot4tion"}, token=token)
        assert body["data"]["updateSipPreferences"]["userErrors"] == []
        payload = await provision(
            gql,
            token,
            extension["id"],
            "00:15:65:ab:cd:01",
            protocol="HTTP",
            passwordGeneration="MANUAL",
            adminPassword=ADMIN_SECRET,
            adminPasswordConfirmation=ADMIN_SECRET,
        )
        assert payload["userErrors"] == [], payload
    device = payload["device"]
    [link] = [link for link in device["provisioningLinks"] if link["kind"] == "DEVICE_DIRECTORY"]
    path = httpx.URL(link["url"]).path + "001565abcd01.cfg"
    return tree, Line(extension["id"], device["id"], path)


async def render_and_read(http: httpx.AsyncClient, token: str, line: Line) -> list[str]:
    """What goes wrong with a render and a read of the admin password right now."""
    problems = []
    answer = await graphql(http, REGENERATE, {"id": line.device_id}, token)
    summary = (answer.payload("regenerateProvisioningFiles") or {}).get("summary")
    if summary is None or summary["failures"] or summary["devices"] != 1:
        problems.append(f"render: {answer.body}")
    answer = await graphql(http, ADMIN_PASSWORD, {"id": line.device_id}, token)
    if (
        answer.status != 200
        or answer.body.get("data", {}).get("node", {}).get("adminPassword") != ADMIN_SECRET
    ):
        problems.append(f"adminPassword: {answer.body}")
    return problems


async def rotate(environment: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "magnaprov.cli", "rotate-key",
        "--grace-seconds", str(GRACE_SECONDS),
        env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    return out.decode()


@pytest.mark.parametrize("way", ["key_file", "environment"])
async def test_a_rotation_beside_a_running_server_never_fails_its_renders_or_reads(
    engine: AsyncEngine, tmp_path: Path, way: str
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    key_file = tmp_path / "magnaprov.key"
    new = fresh_keyring()
    if way == "key_file":
        old = load_keyring(None, key_file)
        settings = make_settings(url, secrets_keys=None, secrets_key_file=key_file)
        served = {"MAGNAPROV_SECRETS_KEYS": "", "MAGNAPROV_SECRETS_KEY_FILE": str(key_file)}
        rotation = {k: v for k, v in os.environ.items() if k != "MAGNAPROV_SECRETS_KEYS"}
        rotation |= {"MAGNAPROV_SECRETS_KEY_FILE": str(key_file)}
    else:
        old = parse_keyring(TEST_KEYRING)
        settings = make_settings(url)
        keys = new.serialize().strip() + "," + TEST_KEYRING  # new key first, old one after
        served = {"MAGNAPROV_SECRETS_KEYS": keys}
        rotation = {**os.environ, "MAGNAPROV_SECRETS_KEYS": keys}
    rotation["MAGNAPROV_DATABASE_URL"] = url
    tree, line = await build(engine, Services.from_settings(settings))
    token = tree["o1"].token
    with serve_process(url, tmp_path, **served) as (_process, base):
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            await wait_until(lambda: ready(http), 30)
            assert (await http.get(line.url)).status_code == 200  # cached before the rotation
            assert await render_and_read(http, token, line) == []
            rotating = asyncio.create_task(rotate(rotation))
            during: list[str] = []
            while not rotating.done():
                during += await render_and_read(http, token, line)
                await asyncio.sleep(0.2)
            await rotating
            assert during == []
            assert await render_and_read(http, token, line) == []
            body = await graphql(
                http, SET_PASSWORD, {"id": line.extension_id, "p": "After-Rot4tion"}, token
            )
            assert body.payload("updateSipPreferences") == {"userErrors": []}, body
            phone = await http.get(line.url)
            assert phone.status_code == 200 and b"After-Rot4tion" in phone.content
    # What the server wrote after the rotation is under the new key alone, which is all a
    # server started now holds: the old key can go.
    now = load_keyring(None, key_file) if way == "key_file" else new
    assert now.primary_id != old.primary_id and len(now.keys) == 1
    only_new = SecretBox(now)
    extension_id = decode_id(line.extension_id, "Extension")
    device_id = decode_id(line.device_id, "Device")
    async with engine.connect() as connection:
        phone_password = await connection.scalar(
            select(SipPreferences.phone_password).where(SipPreferences.extension_id == extension_id)
        )
        admin_password = await connection.scalar(
            select(Device.admin_password).where(Device.id == device_id)
        )
    identity = f"sip_preferences:{extension_id}:phone_password"
    assert only_new.decrypt(bytes(phone_password), identity) == "After-Rot4tion"
    admin_identity = f"device:{device_id}:admin_password"
    assert only_new.decrypt(bytes(admin_password), admin_identity) == ADMIN_SECRET
    async with engine.connect() as connection:
        files = (
            await connection.execute(
                select(RenderedFile.device_id, RenderedFile.name_key, RenderedFile.content)
            )
        ).all()
    assert files
    for file in files:
        only_new.open(bytes(file.content), rendered_file_identity(file.device_id, file.name_key))


async def ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/healthz")).status_code == 200
