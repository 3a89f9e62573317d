"""A throwaway PostgreSQL cluster the test starts and stops itself (initdb and pg_ctl).

The cluster lives in a fresh temporary directory (data, unix socket and log), trusts local
connections and listens on 127.0.0.1 and a free port. initdb and the server refuse to run as
root, so under root they run as the `postgres` user, which then owns the directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from live_process import free_port

__all__ = ["PostgresCluster", "find_bindir"]

_CANDIDATE_VERSIONS = ("15", "16", "17", "14", "13")


def find_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False, timeout=10
        )
        if found.returncode == 0:
            candidates.append(Path(found.stdout.strip()))
    candidates += [Path(f"/usr/lib/postgresql/{version}/bin") for version in _CANDIDATE_VERSIONS]
    for on_path in (shutil.which("pg_ctl"), shutil.which("initdb")):
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


@dataclass
class PostgresCluster:
    """One cluster: `init()` once, then `start()` / `stop()` as often as the test needs."""

    bindir: Path
    root: Path
    port: int

    @classmethod
    def create(cls, bindir: Path) -> PostgresCluster:
        root = Path(tempfile.mkdtemp(prefix="magnaprov-pg-"))
        return cls(bindir, root, free_port())

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of its `postgres` database."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb",
            "--pgdata",
            str(self.data),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.root} -c fsync=off -c max_connections=60"
        )
        self._run(
            "pg_ctl", "start", "--pgdata", str(self.data), "--wait", "--timeout", "30",
            "--log", str(self.root / "server.log"), "-o", options,
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "stop", "--pgdata", str(self.data), "--wait", "--mode", mode)

    def destroy(self) -> None:
        """Stop it if it runs, and delete everything it wrote."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "stop", "--pgdata", str(self.data), "--mode", "immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=60, cwd=self.root
        )
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed: {result.stdout}{result.stderr}{self.log()}")
