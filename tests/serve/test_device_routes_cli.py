"""`magnaprov serve` and the device routes: one worker on SQLite, TFTP in its own thread."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest
from conftest import make_settings
from typer.testing import CliRunner

from magnaprov import cli
from magnaprov.db import GLOBAL_PREFERENCES_ID, GlobalPreferences
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
