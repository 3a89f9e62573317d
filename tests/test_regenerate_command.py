"""`magnaprov regenerate`: bulk re-rendering with a summary; one failing device stops nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest
from account_tree import Member, build_tree
from conftest import TEST_KEYRING
from device_fixtures import provision
from extension_fixtures import create_extension
from sqlalchemy import select, text, update
from template_fixtures import add_template

from magnaprov.db import Device, RenderedFile, begin_writing
from magnaprov.resolvers.regeneration import regenerate_in_bulk

MAC = "00:15:65:00:00:09"


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


async def test_regenerate_renders_every_device_and_reports_failures(
    gql, tree, settings, session_factory, engine
):
    for n in range(3):
        extension = await create_extension(gql, tree["o1"].token, tree["u1"].gid, f"Line {n}")
        payload = await provision(
            gql, tree["o1"].token, extension["extension"]["id"], f"00:15:65:00:00:0{n}"
        )
        assert payload["userErrors"] == []
    # A template whose file fails for one MAC only (the sample data passes, so saving would too).
    async with session_factory() as session:
        template = await add_template(
            session,
            "o1",
            "Broken for one",
            "{% extends server_default %}{% block extra %}"
            "{% if device.mac_lower == '001565000002' %}{{ no_such_value }}{% endif %}{% endblock %}",
        )
        for device in await session.scalars(select(Device)):
            device.template_id = template.id
        await session.commit()
    async with engine.begin() as connection:  # files of an older render, with their own ETag
        await connection.execute(
            text("UPDATE rendered_file SET content = :c, etag = :e"), {"c": b"stale", "e": '"0"'}
        )
    environment = {
        **os.environ,
        "MAGNAPROV_DATABASE_URL": settings.database_url,
        "MAGNAPROV_SECRETS_KEYS": TEST_KEYRING,
    }
    result = subprocess.run(
        [sys.executable, "-m", "magnaprov.cli", "regenerate"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr  # failures make the exit code say so
    assert "Devices: 2  Files:" in result.stdout
    assert "Failures: 1" in result.stdout
    assert "no_such_value" in result.stdout
    async with engine.connect() as connection:
        stale = (
            await connection.execute(
                text("SELECT count(*) FROM rendered_file WHERE content = :c"), {"c": b"stale"}
            )
        ).scalar_one()
        total = (await connection.execute(text("SELECT count(*) FROM rendered_file"))).scalar_one()
    assert 0 < stale < total  # the failing device kept its old files; the others are fresh


async def test_a_bulk_run_waits_for_a_writer_instead_of_failing(
    gql, tree, services, session_factory
):
    extension = await create_extension(gql, tree["o1"].token, tree["u1"].gid)
    payload = await provision(gql, tree["o1"].token, extension["extension"]["id"], MAC)
    assert payload["userErrors"] == []
    async with session_factory() as session:  # files of an older render: the run must write
        await session.execute(update(RenderedFile).values(etag='"0"'))
        await session.commit()
    async with session_factory() as writer:
        await begin_writing(writer)
        await writer.execute(update(Device).values(friendly_name="Renamed"))
        bulk = asyncio.create_task(regenerate_in_bulk(session_factory, services.secrets))
        await asyncio.sleep(0.3)  # the run reads, renders, then needs to write
        await writer.commit()
    summary = await bulk
    assert (summary.report.devices, summary.report.failures) == (1, [])
