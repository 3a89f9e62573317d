"""Server processes for the HTTP benchmarks: started pinned to a CPU, probed through /proc.

Every server under test runs on CPU 0 and every load generator on CPU 1 (`taskset`), so on a
two-core machine client and server each own a core; PostgreSQL is left free to use either.
CPU time and memory come from `/proc/<pid>/stat` and `/proc/<pid>/status`, summed over the
process and its children (nginx's worker).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

__all__ = [
    "CLIENT_CPU",
    "REPOSITORY",
    "SERVER_CPU",
    "CpuSample",
    "Server",
    "cpu_seconds",
    "free_port",
    "peak_rss_mib",
    "pinned",
    "postgres_backends",
    "rss_mib",
]

SERVER_CPU, CLIENT_CPU = 0, 1
REPOSITORY = Path(__file__).resolve().parents[1]
_TICKS = os.sysconf("SC_CLK_TCK")


def pinned(command: Sequence[str], cpu: int) -> list[str]:
    """`command` run on one CPU when the machine has a second one and taskset exists."""
    taskset = shutil.which("taskset")
    if taskset is None or (os.cpu_count() or 1) < 2:
        return list(command)
    return [taskset, "-c", str(cpu), *command]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _family(pid: int) -> list[int]:
    """The process and its descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pending.extend(int(child) for child in children)
    return found


def _own_cpu(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # the name may hold spaces; fields start after it
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU of these processes and their descendants."""
    return sum(_own_cpu(member) for pid in pids for member in _family(pid))


def _status_kib(pid: int, field: str) -> int:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def peak_rss_mib(pid: int) -> float:
    """The largest resident set of the process and its descendants (VmHWM), in MiB."""
    return max(_status_kib(member, "VmHWM") for member in _family(pid)) / 1024


def rss_mib(pid: int) -> float:
    """The resident set now (VmRSS) of the process and its descendants, in MiB."""
    return sum(_status_kib(member, "VmRSS") for member in _family(pid)) / 1024


def postgres_backends(database: str) -> list[int]:
    """PostgreSQL backends connected to this database (their title names it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and f" {database} " in title:
            found.append(int(entry.name))
    return found


@dataclass(frozen=True, slots=True)
class CpuSample:
    """CPU seconds used so far by a server and by the database backends serving it."""

    server: float
    database: float


class Server:
    """A server subprocess on CPU 0, its output in a file, ready once `probe_path` answers."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        port: int,
        probe_path: str,
        log_file: Path,
        environment: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        database: str | None = None,
    ) -> None:
        self.name, self.port, self.database = name, port, database
        self._command = pinned(command, SERVER_CPU)
        self._probe_path, self._log_file = probe_path, log_file
        self._environment = {**os.environ, **(environment or {})}
        self._cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self._process is not None, f"{self.name} is not running"
        return self._process.pid

    def __enter__(self) -> Server:
        with self._log_file.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own command line
                self._command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._environment,
                cwd=self._cwd,
            )
        self._wait_ready()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def cpu(self) -> CpuSample:
        """CPU used so far by the server, and by its PostgreSQL backends if it has any."""
        backends = postgres_backends(self.database) if self.database else []
        return CpuSample(cpu_seconds([self.pid]), cpu_seconds(backends))

    def peak_rss_mib(self) -> float:
        """VmHWM of the server (largest of its processes)."""
        return peak_rss_mib(self.pid)

    def rss_mib(self) -> float:
        """VmRSS of the server now."""
        return rss_mib(self.pid)

    def _wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}{self._probe_path}"
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self._log_file}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {self._probe_path} in {timeout:.0f} s")
