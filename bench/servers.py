"""The two Python servers under test, each a subprocess on a loopback port.

magnaprov runs as `magnaprov serve` itself (one uvicorn worker, default settings: file cache,
LISTEN/NOTIFY freshness, last-contact recorder, scanning defence), its INFO log, access lines
included, going to a file as in production. The in-memory reference runs under the same
uvicorn options (`bench.memory_app`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.fleet import BENCH_KEYRING
from bench.processes import REPOSITORY, Server
from bench.served_files import ServedCopy

__all__ = ["magnaprov_server", "memory_server"]


def magnaprov_server(
    database_url: str,
    folder: Path,
    port: int,
    probe_path: str,
    settings: Mapping[str, str] | None = None,
) -> Server:
    """`magnaprov serve` on `port`, run from `folder` (so no stray `.env` is read)."""
    folder.mkdir(parents=True, exist_ok=True)
    environment = {
        "MAGNAPROV_DATABASE_URL": database_url,
        "MAGNAPROV_SECRETS_KEYS": BENCH_KEYRING,
        "MAGNAPROV_HOST": "127.0.0.1",
        "MAGNAPROV_PORT": str(port),
        # As the fleet's hashes were made; only logins (the soak's) hash anything.
        "MAGNAPROV_ARGON2_TIME_COST": "1",
        "MAGNAPROV_ARGON2_MEMORY_KIB": "64",
        "MAGNAPROV_ARGON2_PARALLELISM": "1",
        **(settings or {}),
    }
    return Server(
        "magnaprov",
        [sys.executable, "-m", "magnaprov.cli", "serve"],
        port=port,
        probe_path=probe_path,
        log_file=folder / "magnaprov.log",
        environment={**environment, "PYTHONPATH": str(REPOSITORY)},
        cwd=folder,
        database=make_url(database_url).database,
    )


def memory_server(copy: ServedCopy, folder: Path, port: int, probe_path: str) -> Server:
    """The in-memory reference over `copy`."""
    folder.mkdir(parents=True, exist_ok=True)
    return Server(
        "in-memory",
        [sys.executable, "-m", "bench.memory_app", str(copy.root), str(port)],
        port=port,
        probe_path=probe_path,
        log_file=folder / "memory-app.log",
        environment={"PYTHONPATH": str(REPOSITORY)},
        cwd=folder,
    )
