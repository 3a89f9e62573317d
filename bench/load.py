"""Load generators, pinned to the client CPU: wrk with a Lua script, or `bench.http_client`.

`random_load` fetches random entries of a list of paths for a fixed time, with wrk (one thread)
when it is installed and the asyncio client otherwise; `sequence_load` walks phone sequences
with the asyncio client (wrk cannot keep one phone's requests on one connection, in order).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.processes import CLIENT_CPU, REPOSITORY, pinned

__all__ = ["LoadResult", "Probe", "client_name", "random_load", "sequence_load"]

WRK_SCRIPT = r"""
-- args: <file of "path<TAB>etag" lines> <"200" or "304"> <User-Agent>
local requests = {}

function init(args)
  for line in io.lines(args[1]) do
    local path, etag = line:match("^([^\t]+)\t(.*)$")
    local headers = { ["User-Agent"] = args[3] }
    if args[2] == "304" then headers["If-None-Match"] = etag end
    requests[#requests + 1] = wrk.format("GET", path, headers)
  end
  math.randomseed(os.time())
end

function request()
  return requests[math.random(#requests)]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.6f, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
    '"socket_errors": %d, "unexpected": %d, "body_bytes": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.connect + e.read + e.write + e.timeout, e.status,
    summary.bytes))
end
"""
USER_AGENT = "Yealink SIP-T46S 66.86.0.15"


@dataclass(frozen=True, slots=True)
class Probe:
    """One request a load may send: the path, the ETag to revalidate with, extra headers."""

    path: str
    etag: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    expect: int = 200


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What a load generator measured. `unexpected`: answers with another status than wanted
    (for wrk: any status >= 400); `statuses` only from the asyncio client."""

    client: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    unexpected: int
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        """Requests answered per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def client_name() -> str:
    """Which generator `random_load` uses."""
    return "wrk -t1" if shutil.which("wrk") else "asyncio client"


def random_load(
    port: int,
    probes: Sequence[Probe],
    *,
    conditional: bool,
    connections: int,
    seconds: float,
    folder: Path,
) -> LoadResult:
    """Random GETs of `probes` (with If-None-Match when `conditional`) for `seconds`."""
    wrk = shutil.which("wrk")
    if wrk is None:
        requests = [_entry(probe, conditional) for probe in probes]
        job = {"mode": "random", "requests": requests, "seconds": seconds}
        return _client(port, connections, job, folder)
    paths = folder / "wrk-paths.tsv"
    paths.write_text("".join(f"{probe.path}\t{probe.etag}\n" for probe in probes))
    script = folder / "wrk-random.lua"
    script.write_text(WRK_SCRIPT)
    command = [
        wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
        "-s", str(script), f"http://127.0.0.1:{port}", "--",
        str(paths), "304" if conditional else "200", USER_AGENT,
    ]  # fmt: skip
    output = _run(command)
    figures = json.loads(
        next(line for line in reversed(output.splitlines()) if line.startswith("{"))
    )
    figures.pop("body_bytes")
    return LoadResult(client="wrk -t1", **figures)


def sequence_load(
    port: int, sequences: Sequence[dict[str, Any]], *, connections: int, folder: Path
) -> LoadResult:
    """Walk `sequences` (`{"source": address, "requests": [entry...]}`) with the asyncio client."""
    return _client(port, connections, {"mode": "sequences", "sequences": list(sequences)}, folder)


def _entry(probe: Probe, conditional: bool) -> dict[str, Any]:
    headers = {"User-Agent": USER_AGENT, **probe.headers}
    if conditional:
        headers["If-None-Match"] = probe.etag
    return {"path": probe.path, "headers": headers, "expect": 304 if conditional else probe.expect}


def _client(port: int, connections: int, job: dict[str, Any], folder: Path) -> LoadResult:
    job_file = folder / "client-job.json"
    job_file.write_text(
        json.dumps({**job, "host": "127.0.0.1", "port": port, "connections": connections})
    )
    output = _run([sys.executable, "-m", "bench.http_client", str(job_file)])
    figures = json.loads(output.splitlines()[-1])
    figures.pop("body_bytes")
    return LoadResult(client="asyncio client", **figures)


def _run(command: Sequence[str]) -> str:
    completed = subprocess.run(  # noqa: S603 - our own command line
        pinned(command, CLIENT_CPU), capture_output=True, text=True, check=False, cwd=REPOSITORY
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {completed.stderr.strip()[-2000:]}")
    return completed.stdout
