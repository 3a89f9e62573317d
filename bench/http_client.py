"""A small HTTP/1.1 load client on asyncio, run as its own process (pinned to the client CPU).

Two modes, read from a JSON job file, result written as one JSON line on stdout:

* `random`: `connections` keep-alive connections each send a random request of the list, one
  at a time, for `seconds` (the fallback when wrk is not installed);
* `sequences`: `connections` workers each take the next sequence (a phone), open a connection
  from the sequence's own source address, send its requests in order on it, close it, and take
  the next, until every sequence is done (the boot storm; also the cache warm-up).

Each request carries the status it should get; anything else is counted as an error.
Run: `python -m bench.http_client <job.json>`.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["main"]


@dataclass(slots=True)
class _Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: int = 0
    failures: int = 0
    body_bytes: int = 0


@dataclass(frozen=True, slots=True)
class _Request:
    raw: bytes
    expect: int


def _request(host: str, entry: dict[str, Any]) -> _Request:
    lines = [f"GET {entry['path']} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in entry.get("headers", {}).items()]
    return _Request(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), entry.get("expect", 200))


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: _Request, tally: _Tally
) -> None:
    started = time.perf_counter()
    writer.write(request.raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    tally.latencies.append(time.perf_counter() - started)
    tally.statuses[status] += 1
    tally.body_bytes += length
    if status != request.expect:
        tally.unexpected += 1


async def _random_worker(
    job: dict[str, Any], requests: list[_Request], deadline: float, tally: _Tally
) -> None:
    reader, writer = await asyncio.open_connection(job["host"], job["port"])
    try:
        while time.perf_counter() < deadline:
            await _exchange(reader, writer, random.choice(requests), tally)
    except (OSError, asyncio.IncompleteReadError):
        tally.failures += 1
    finally:
        writer.close()


async def _sequence_worker(
    job: dict[str, Any], queue: list[tuple[str, list[_Request]]], tally: _Tally
) -> None:
    while queue:
        source, requests = queue.pop()
        try:
            reader, writer = await asyncio.open_connection(
                job["host"], job["port"], local_addr=(source, 0) if source else None
            )
        except OSError:
            tally.failures += 1
            continue
        try:
            for request in requests:
                await _exchange(reader, writer, request, tally)
        except (OSError, asyncio.IncompleteReadError):
            tally.failures += 1
        finally:
            writer.close()


async def _run(job: dict[str, Any]) -> dict[str, Any]:
    host = f"{job['host']}:{job['port']}"
    tally = _Tally()
    started = time.perf_counter()
    if job["mode"] == "random":
        requests = [_request(host, entry) for entry in job["requests"]]
        deadline = started + job["seconds"]
        workers = [
            _random_worker(job, requests, deadline, tally) for _ in range(job["connections"])
        ]
    else:
        queue = [
            (sequence.get("source", ""), [_request(host, entry) for entry in sequence["requests"]])
            for sequence in reversed(job["sequences"])
        ]
        workers = [_sequence_worker(job, queue, tally) for _ in range(job["connections"])]
    await asyncio.gather(*workers)
    return _summary(tally, time.perf_counter() - started)


def _summary(tally: _Tally, seconds: float) -> dict[str, Any]:
    ordered = sorted(tally.latencies)

    def percentile(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0

    return {
        "requests": len(ordered),
        "seconds": seconds,
        "p50_ms": percentile(0.50),
        "p99_ms": percentile(0.99),
        "statuses": {str(status): count for status, count in sorted(tally.statuses.items())},
        "unexpected": tally.unexpected,
        "socket_errors": tally.failures,
        "body_bytes": tally.body_bytes,
    }


def main() -> None:
    """Read the job, run it, print the result as JSON."""
    job = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(_event_loop_runner()(_run(job))))


def _event_loop_runner() -> Any:
    # uvloop (installed with uvicorn[standard]) when there: the client should cost little.
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


if __name__ == "__main__":
    main()
