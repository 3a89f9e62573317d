"""One line describing where the figures were measured, printed above the table."""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
from pathlib import Path

import asyncpg

from bench.fleet import POSTGRES_ADMIN_URL
from bench.load import client_name
from bench.nginx_server import find_nginx

__all__ = ["describe_machine"]


def describe_machine() -> str:
    """CPUs, CPU model, RAM, Python, PostgreSQL, and the HTTP tools found."""
    parts = [
        f"{os.cpu_count()} CPUs ({_cpu_model()})",
        f"{_memory_gib():.0f} GiB RAM",
        f"{platform.python_implementation()} {platform.python_version()}",
        f"PostgreSQL {_postgres_version()}",
        f"load: {client_name()}",
        f"nginx: {_nginx_version()}",
    ]
    return ", ".join(parts)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _postgres_version() -> str:
    async def query() -> str:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            return str(await connection.fetchval("SHOW server_version"))
        finally:
            await connection.close()

    try:
        return asyncio.run(query())
    except (OSError, asyncpg.PostgresError):
        return "unreachable"


def _nginx_version() -> str:
    binary = find_nginx()
    if binary is None:
        return "not installed (skipped)"
    completed = subprocess.run(  # noqa: S603 - the nginx binary found on this machine
        [binary, "-v"], capture_output=True, text=True, check=False
    )
    return completed.stderr.strip().removeprefix("nginx version: ") or "unknown"
