"""Phone passwords at rest: encrypted, row-bound, and re-encrypted by `magnaprov rotate-key`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest
from account_tree import Member, build_tree
from extension_fixtures import create_extension
from sqlalchemy import text

from magnaprov.db import SipPreferences, begin_writing
from magnaprov.resolvers.secret_rotation import reencrypt_all
from magnaprov.schema.node import decode_id
from magnaprov.tenancy.secrets import SecretBox, load_keyring

SET_PASSWORD = """mutation($id: ID!, $p: String!) { updateSipPreferences(extensionId: $id, phonePassword: $p,
  phonePasswordConfirmation: $p) { userErrors { code } } }"""
READ = "query($id: ID!) { extension(id: $id) { sipPreferences { phonePassword } } }"


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


async def stored_passwords(engine) -> dict[int, bytes]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT extension_id, phone_password FROM sip_preferences ORDER BY extension_id")
        )
        return {row[0]: bytes(row[1]) for row in rows if row[1] is not None}


async def make_lines(gql, tree, count: int) -> list[tuple[str, str]]:
    lines = []
    for n in range(count):
        created = await create_extension(gql, tree["o1"].token, tree["u1"].gid, f"Line {n}")
        password = f"Pass-word-{n:02d}X"
        body = await gql(
            SET_PASSWORD, {"id": created["extension"]["id"], "p": password}, token=tree["o1"].token
        )
        assert body["data"]["updateSipPreferences"]["userErrors"] == []
        lines.append((created["extension"]["id"], password))
    return lines


async def read_password(gql, tree, extension_id: str) -> str | None:
    body = await gql(READ, {"id": extension_id}, token=tree["o1"].token)
    value: str | None = body["data"]["extension"]["sipPreferences"]["phonePassword"]
    return value


async def test_phone_passwords_are_never_stored_in_clear(gql, tree, engine):
    lines = await make_lines(gql, tree, 2)
    stored = await stored_passwords(engine)
    for _, password in lines:
        assert all(password.encode() not in blob for blob in stored.values())


async def test_a_ciphertext_pasted_into_another_row_reads_as_null(gql, tree, engine):
    (first, _), (second, _) = await make_lines(gql, tree, 2)
    stored = await stored_passwords(engine)
    first_row, second_row = sorted(stored)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE sip_preferences SET phone_password = :blob WHERE extension_id = :id"),
            {"blob": stored[first_row], "id": second_row},
        )
    assert await read_password(gql, tree, second) is None
    assert await read_password(gql, tree, first) is not None


async def test_a_tampered_ciphertext_reads_as_null(gql, tree, engine):
    [(extension_id, _)] = await make_lines(gql, tree, 1)
    [(row_id, blob)] = (await stored_passwords(engine)).items()
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE sip_preferences SET phone_password = :blob WHERE extension_id = :id"),
            {"blob": tampered, "id": row_id},
        )
    assert await read_password(gql, tree, extension_id) is None


async def test_rotate_key_reencrypts_every_secret_and_reports_counts(
    gql, tree, engine, settings, tmp_path
):
    key_file = tmp_path / "magnaprov.key"
    old_keyring = load_keyring(None, key_file)
    # Write the test rows under the key file's key, as a server using that file would have.
    await make_lines(gql, tree, 3)
    stored = await stored_passwords(engine)
    test_box = SecretBox(load_keyring(settings.secrets_keys.get_secret_value(), key_file))
    file_box = SecretBox(old_keyring)
    async with engine.begin() as connection:
        for row_id, blob in stored.items():
            identity = f"sip_preferences:{row_id}:phone_password"
            await connection.execute(
                text("UPDATE sip_preferences SET phone_password = :b WHERE extension_id = :id"),
                {"b": file_box.encrypt(test_box.decrypt(blob, identity), identity), "id": row_id},
            )
    environment = {
        **os.environ,
        "MAGNAPROV_DATABASE_URL": settings.database_url,
        "MAGNAPROV_SECRETS_KEY_FILE": str(key_file),
    }
    environment.pop("MAGNAPROV_SECRETS_KEYS", None)
    result = subprocess.run(
        [sys.executable, "-m", "magnaprov.cli", "rotate-key", "--grace-seconds", "0"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "SIP phone passwords: 3 re-encrypted" in result.stdout
    new_keyring = load_keyring(None, key_file)
    assert new_keyring.primary_id != old_keyring.primary_id
    assert len(new_keyring.keys) == 1  # the old key is gone once nothing needs it
    new_box = SecretBox(new_keyring)
    after = await stored_passwords(engine)
    assert {new_box.key_id_of(blob) for blob in after.values()} == {new_keyring.primary_id}
    for row_id, blob in after.items():
        identity = f"sip_preferences:{row_id}:phone_password"
        assert new_box.decrypt(blob, identity) == test_box.decrypt(stored[row_id], identity)


async def test_rotate_key_from_the_environment_moves_device_secrets_too(
    gql, tree, engine, settings
):
    from conftest import TEST_KEYRING
    from device_fixtures import provision

    from magnaprov.tenancy.secrets import fresh_keyring, parse_keyring

    [(extension_id, _)] = await make_lines(gql, tree, 1)
    payload = await provision(
        gql,
        tree["o1"].token,
        extension_id,
        "00:15:65:AA:CC:01",
        passwordGeneration="MANUAL",
        adminPassword="Adm1n-Pw",
        adminPasswordConfirmation="Adm1n-Pw",
    )
    links_before = payload["device"]["provisioningLinks"]
    new = fresh_keyring()
    keys = new.serialize().strip() + "," + TEST_KEYRING
    environment = {
        **os.environ,
        "MAGNAPROV_DATABASE_URL": settings.database_url,
        "MAGNAPROV_SECRETS_KEYS": keys,
    }
    result = subprocess.run(
        [sys.executable, "-m", "magnaprov.cli", "rotate-key", "--grace-seconds", "0"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "SIP phone passwords: 1 re-encrypted" in result.stdout
    assert "Device keys: 1 re-encrypted" in result.stdout
    assert "Device administrator passwords: 1 re-encrypted" in result.stdout
    only_new = SecretBox(parse_keyring(new.serialize()))
    async with engine.connect() as connection:
        device_id, key_blob, admin_blob = (
            await connection.execute(text("SELECT id, key_secret, admin_password FROM device"))
        ).one()
    assert only_new.decrypt(bytes(admin_blob), f"device:{device_id}:admin_password") == "Adm1n-Pw"
    key = only_new.decrypt(bytes(key_blob), f"device:{device_id}:key")
    assert links_before[0]["url"].endswith(f"/prov/{key}/")


async def test_rotation_never_overwrites_a_password_changed_meanwhile(
    gql, tree, session_factory, services
):
    from conftest import TEST_KEYRING

    from magnaprov.tenancy.secrets import fresh_keyring, parse_keyring

    [(extension_gid, _)] = await make_lines(gql, tree, 1)
    extension_id = decode_id(extension_gid, "Extension")
    new_keyring = fresh_keyring()
    rotating = SecretBox(parse_keyring(new_keyring.serialize().strip() + "," + TEST_KEYRING))

    async def rotate() -> dict[str, int]:
        async with session_factory() as session:
            return await reencrypt_all(session, rotating)

    async with session_factory() as server:  # a password change, committed mid-rotation
        await begin_writing(server)
        preferences = await server.get(SipPreferences, extension_id)
        preferences.phone_password = services.secrets.encrypt(
            "Changed-Meanwhile-7", preferences.password_identity()
        )
        await server.flush()
        rotation = asyncio.create_task(rotate())
        await asyncio.sleep(0.3)
        await server.commit()
    assert (await rotation)["SIP phone passwords"] == 1
    async with session_factory() as session:
        stored = await session.get(SipPreferences, extension_id)
        blob = stored.phone_password
    assert rotating.key_id_of(blob) == new_keyring.primary_id
    assert rotating.decrypt(blob, stored.password_identity()) == "Changed-Meanwhile-7"
