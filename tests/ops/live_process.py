"""Real server processes for the operations tests, and small helpers to talk to them."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from conftest import TEST_KEYRING

__all__ = [
    "Answer",
    "free_port",
    "graphql",
    "serve_process",
    "server_environment",
    "uvicorn_process",
    "wait_until",
]


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_environment(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a server process: this database, cheap argon2, the test keyring."""
    return {
        **os.environ,
        "MAGNAPROV_DATABASE_URL": database_url,
        "MAGNAPROV_SECRETS_KEYS": TEST_KEYRING,
        "MAGNAPROV_ARGON2_TIME_COST": "1",
        "MAGNAPROV_ARGON2_MEMORY_KIB": "64",
        "MAGNAPROV_ARGON2_PARALLELISM": "1",
        **extra,
    }


@contextmanager
def uvicorn_process(environment: dict[str, str], workdir: Path) -> Iterator[str]:
    """`uvicorn --factory magnaprov.serve.app:create_served_app` on a loopback port; yields its URL.

    Its stderr goes to `workdir/server.log`, for the test to read.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "magnaprov.serve.app:create_served_app",
        "--fd", str(sock.fileno()), "--log-level", "warning", "--no-server-header",
    ]  # fmt: skip
    with (workdir / "server.log").open("w") as log:
        process = subprocess.Popen(
            command, env=environment, cwd=workdir, pass_fds=(sock.fileno(),), stderr=log
        )
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        process.terminate()
        process.wait(timeout=15)
        sock.close()


@contextmanager
def serve_process(
    database_url: str,
    workdir: Path,
    *,
    separate_stderr: bool = False,
    arguments: tuple[str, ...] = (),
    **environment: str,
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`python -m magnaprov.cli serve [arguments]` on a free port; yields the process and its URL.

    Its output goes to `workdir/server.log` (its stderr, the log, to `workdir/stderr.log` with
    `separate_stderr`); it is killed at the end if still running.
    """
    port = free_port()
    variables = server_environment(
        database_url, MAGNAPROV_HOST="127.0.0.1", MAGNAPROV_PORT=str(port), **environment
    )
    with (
        (workdir / "server.log").open("w") as log,
        (workdir / "stderr.log").open("w") as errors,
    ):
        process = subprocess.Popen(
            [sys.executable, "-m", "magnaprov.cli", "serve", *arguments],
            env=variables,
            cwd=workdir,
            stdout=log,
            stderr=errors if separate_stderr else subprocess.STDOUT,
        )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=15)


async def wait_until(check: Callable[[], Awaitable[bool]], seconds: float) -> float:
    """Seconds until `check()` is true; AssertionError when it is still false after `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            if await check():
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"still not true after {seconds} s")


@dataclass(frozen=True)
class Answer:
    """One HTTP answer to a GraphQL request, and how long it took."""

    status: int
    body: dict[str, Any]
    seconds: float

    def payload(self, field: str) -> dict[str, Any] | None:
        """`data[field]` of a 200 without errors, else None."""
        if self.status != 200 or "errors" in self.body:
            return None
        found: dict[str, Any] = self.body["data"][field]
        return found


async def graphql(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str
) -> Answer:
    """POST a GraphQL document; never raises on the status."""
    started = time.monotonic()
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    is_json = response.headers.get("content-type", "").startswith("application/json")
    body = response.json() if is_json else {"text": response.text}
    return Answer(response.status_code, body, time.monotonic() - started)
