"""Rendering again writes only the files whose bytes or names change (resolvers/rendering.py).

A file rendered to the same bytes keeps its row, its `rendered_at` (the Last-Modified phones
revalidate with) and the serving processes' cached copy: only devices whose files changed are
announced.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from account_tree import Member, build_tree
from device_fixtures import provision
from extension_fixtures import create_extension
from sqlalchemy import select, update
from stored_files import file_plaintext
from template_fixtures import add_template

from magnaprov.db import Device, Extension, RenderedFile, begin_writing
from magnaprov.db.file_changes import subscribe, unsubscribe
from magnaprov.resolvers.rendering import render_devices
from magnaprov.schema.node import decode_id
from magnaprov.tenancy import SecretDecryptionError

SNOM = {"manufacturer": "snom", "model": "D785", "firmware": "10.x"}
MARKER = "{% extends server_default %}{% block extra %}{{ super() }}marker = 1\n{% endblock %}"


class Announcements:
    """The device ids each commit of this process announced."""

    def __init__(self) -> None:
        self.seen: list[set[int] | None] = []

    def changed(self, device_ids: set[int] | None, _macs: set[str]) -> None:
        self.seen.append(device_ids)


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


@pytest.fixture
async def devices(gql, tree) -> dict[str, int]:
    """A Yealink T46S and a Snom D785 of u1, files rendered."""
    ids = {}
    for name, mac, equipment in (
        ("yealink", "00:15:65:00:00:01", {}),
        ("snom", "00:04:13:00:00:02", SNOM),
    ):
        extension = await create_extension(gql, tree["o1"].token, tree["u1"].gid, name.title())
        payload = await provision(
            gql, tree["o1"].token, extension["extension"]["id"], mac, **equipment
        )
        assert payload["userErrors"] == [] and payload["device"]["files"], payload
        ids[name] = decode_id(payload["device"]["id"], "Device")
    return ids


@pytest.fixture
def announcements() -> Any:
    recorder = Announcements()
    subscribe(recorder.changed)
    yield recorder
    unsubscribe(recorder.changed)


async def stored(session_factory: Any) -> dict[tuple[int, str], tuple[int, bytes, Any]]:
    async with session_factory() as session:
        rows = await session.execute(
            select(
                RenderedFile.device_id,
                RenderedFile.name,
                RenderedFile.id,
                RenderedFile.content,
                RenderedFile.rendered_at,
                RenderedFile.name_key,
            )
        )
        return {
            (row[0], row[1]): (row[2], readable(row[0], row[5], row[3]), row[4]) for row in rows
        }


def readable(device_id: int, name_key: str, content: bytes) -> bytes | None:
    """The plaintext; None when the row no longer matches what the content is bound to."""
    try:
        return file_plaintext(device_id, name_key, content)
    except SecretDecryptionError:
        return None


async def render(session_factory: Any, services: Any, device_ids: list[int]) -> None:
    async with session_factory() as session:
        report = await render_devices(session, services.secrets, device_ids)
        assert report.failures == []
        await session.commit()


async def test_rendering_the_same_bytes_again_writes_and_announces_nothing(
    session_factory, services, devices, announcements
):
    before = await stored(session_factory)
    await render(session_factory, services, list(devices.values()))
    assert await stored(session_factory) == before  # same rows, same rendered_at
    assert announcements.seen == []


async def test_a_template_change_rewrites_only_the_files_whose_bytes_change(
    session_factory, services, tree, devices, announcements
):
    async with session_factory() as session:
        template = await add_template(session, "o1", "T", MARKER)
        await session.execute(update(Device).values(template_id=template.id))
        await session.commit()
    announcements.seen.clear()  # the bulk update announced everything, as it should
    before = await stored(session_factory)
    await render(session_factory, services, list(devices.values()))
    after = await stored(session_factory)
    assert after.keys() == before.keys()
    overridden = (devices["yealink"], "001565000001.cfg")
    assert {key for key in after if after[key] != before[key]} == {overridden}
    row_id, content, rendered_at = after[overridden]
    assert row_id != before[overridden][0] and b"marker = 1" in content
    assert rendered_at >= before[overridden][2]
    assert announcements.seen == [{devices["yealink"]}]


async def test_files_no_longer_rendered_are_removed_and_announced(
    session_factory, services, devices, announcements
):
    async with session_factory() as session:
        await session.execute(
            update(RenderedFile)
            .where(RenderedFile.device_id == devices["snom"])
            .values(name=RenderedFile.name + ".old", name_key=RenderedFile.name_key + ".old")
        )
        await session.commit()
    announcements.seen.clear()
    before = await stored(session_factory)
    await render(session_factory, services, list(devices.values()))
    after = await stored(session_factory)
    assert not any(name.endswith(".old") for _device, name in after)
    assert {key[0] for key in after.keys() ^ before.keys()} == {devices["snom"]}
    assert announcements.seen == [{devices["snom"]}]


async def test_a_file_stored_under_another_case_of_its_name_is_replaced(
    session_factory, services, devices, announcements
):
    name = "001565000001.cfg"
    async with session_factory() as session:
        await session.execute(
            update(RenderedFile)
            .where(RenderedFile.device_id == devices["yealink"], RenderedFile.name == name)
            .values(name=name.upper())
        )
        await session.commit()
    announcements.seen.clear()
    await render(session_factory, services, list(devices.values()))
    after = await stored(session_factory)
    assert (devices["yealink"], name) in after
    assert (devices["yealink"], name.upper()) not in after
    assert announcements.seen == [{devices["yealink"]}]


async def test_two_renders_of_one_device_queue_instead_of_colliding(
    session_factory, services, devices
):
    device_id = devices["yealink"]
    async with session_factory() as first:
        await begin_writing(first)  # as the server's writers begin
        template = await add_template(first, "o1", "T", MARKER)
        await first.execute(
            update(Device).where(Device.id == device_id).values(template_id=template.id)
        )
        assert (await render_devices(first, services.secrets, [device_id])).failures == []

        async def rename_and_render() -> None:
            async with session_factory() as second:
                await begin_writing(second)
                device = await second.get(Device, device_id)
                await second.execute(
                    update(Extension)
                    .where(Extension.id == device.extension_id)
                    .values(name="Renamed Line")
                )
                report = await render_devices(second, services.secrets, [device_id])
                assert report.failures == []
                await second.commit()

        second_render = asyncio.create_task(rename_and_render())
        await asyncio.sleep(0.3)
        assert not second_render.done()  # waiting for the first render's transaction
        await first.commit()
    await second_render  # no collision with the files the first one wrote
    files = await stored(session_factory)
    content = files[(device_id, "001565000001.cfg")][1]
    assert b"marker = 1" in content and b"Renamed Line" in content  # both changes rendered
