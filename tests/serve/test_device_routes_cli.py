"""`magnaprov serve` and the device routes: workers, TFTP on the worker's loop or in a thread,
the garbage collector's tuning."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from typing import Any

import pytest
from conftest import make_settings
from typer.testing import CliRunner

from magnaprov import cli
from magnaprov.db import GLOBAL_PREFERENCES_ID, GlobalPreferences
from magnaprov.serve.app import create_app
from magnaprov.serve.gc_tuning import YOUNG_GENERATION_THRESHOLD
from magnaprov.serve.tftp_service import TftpThread


def test_serve_refuses_several_workers_on_sqlite(monkeypatch, tmp_path):
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/one.db")
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    result = CliRunner().invoke(cli.app, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "Refusing --workers > 1 with SQLite" in result.output
    assert not (tmp_path / "one.db").exists()  # refused before migrating anything


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl (apt: curl)")
async def test_the_tftp_thread_follows_the_global_preferences(engine, session_factory: Any):
    async with session_factory() as session:
        session.add(
            GlobalPreferences(
                id=GLOBAL_PREFERENCES_ID, tftp_enabled=True, tftp_allowed_networks="127.0.0.0/8"
            )
        )
        await session.commit()
    url = engine.url.render_as_string(hide_password=False)
    thread = TftpThread(make_settings(url, tftp_host="127.0.0.1", tftp_port=0))
    await asyncio.to_thread(thread.start)
    try:
        for _ in range(200):
            if thread.service is not None and thread.service.server is not None:
                break
            await asyncio.sleep(0.02)
        assert thread.service is not None and thread.service.server is not None
        port = thread.service.server.address[1]
        process = await asyncio.create_subprocess_exec(
            "curl", "-sS", "--max-time", "3", f"tftp://127.0.0.1:{port}/SIP003094000001.cnf",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await process.communicate()
        assert process.returncode == 68  # "file not found": no such device, but TFTP answers
    finally:
        await asyncio.to_thread(thread.stop)
    assert not thread._thread.is_alive()


async def curl_tftp_status(port: int, name: str) -> int:
    process = await asyncio.create_subprocess_exec(
        "curl", "-sS", "--max-time", "3", f"tftp://127.0.0.1:{port}/{name}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await process.communicate()
    assert process.returncode is not None
    return process.returncode


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl (apt: curl)")
async def test_one_worker_runs_tftp_on_its_own_event_loop(engine, session_factory: Any):
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(make_settings(url, tftp_host="127.0.0.1", tftp_port=0), engine, tftp=True)
    async with app.router.lifespan_context(app):
        service = app.state.tftp
        await service.reconcile()  # what its poll does: TFTP is off by default
        assert service.server is None
        async with session_factory() as session:
            session.add(
                GlobalPreferences(
                    id=GLOBAL_PREFERENCES_ID,
                    tftp_enabled=True,
                    tftp_allowed_networks="127.0.0.0/8",
                )
            )
            await session.commit()
        await service.reconcile()  # what its next poll does
        assert service.server is not None
        port = service.server.address[1]
        # "File not found": no such device, but TFTP answers from the worker's loop.
        assert await curl_tftp_status(port, "SIP003094000001.cnf") == 68
    assert service.server is None  # stopped with the app


def test_a_serving_process_freezes_its_start_up_objects():
    # In a process of its own: freezing would keep this test process's objects for good.
    script = (
        "import gc; from magnaprov.serve.gc_tuning import tune_garbage_collector; "
        "tune_garbage_collector(); print(gc.get_freeze_count(), gc.get_threshold()[0])"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert int(output[0]) > 1000  # the interpreter's and magnaprov's modules, frozen
    assert int(output[1]) == YOUNG_GENERATION_THRESHOLD
