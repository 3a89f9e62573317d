"""One line per device-route or TFTP request, written in batches to stderr or a file.

The line names the device by id, never by its key, and carries no header value but the client
address: the URL key, Authorization and the files themselves are secrets.

Why not `logging`: every phone fetch writes a line, so the line's cost is part of the fetch's.
Through a `logging` handler (a `LogRecord`, its formatting, a `write` per line) it was a third
of the CPU of a cached fetch; formatted here and written once per batch it is a few percent.
Lines are written when `MAX_BUFFERED` are waiting, at least every `FLUSH_SECONDS` (the
server's flusher task), and when the server stops. Application messages still go through
`logging`.

`json=True` writes each line as a JSON object with the fields every application line carries
(`time`, `level`, `worker`, `request_id`, `logger`, `event`), for the same log pipeline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import orjson

__all__ = ["FLUSH_SECONDS", "MAX_BUFFERED", "AccessLog", "AccessRecord", "open_access_log"]

log = logging.getLogger("magnaprov.access")

FLUSH_SECONDS = 0.5
MAX_BUFFERED = 512
_MAX_NAME = 128


@dataclass(slots=True)  # not frozen: one is made per request, and frozen init is slower
class AccessRecord:
    """What one request did."""

    route: str
    method: str
    status: int
    bytes: int
    milliseconds: float
    client: str
    device_id: int | None
    file: str | None
    request_id: str | None = None


class AccessLog:
    """Buffers formatted access lines and writes them in batches to `stream` (None: off)."""

    def __init__(
        self,
        stream: TextIO | None,
        *,
        owns_stream: bool = False,
        max_buffered: int = MAX_BUFFERED,
        json: bool = False,
    ) -> None:
        self._stream = stream
        self._owns_stream = owns_stream
        self._max_buffered = max_buffered
        self._json = json
        self._worker = os.getpid()
        self._lines: list[str] = []
        self._second = -1
        self._stamp = ""

    def write(self, record: AccessRecord) -> None:
        """Format one request's line; write the batch once it is full."""
        if self._stream is None:
            return
        now = int(time.time())
        if now != self._second:  # one timestamp string per second, not per line
            self._second = now
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        self._lines.append(self._json_line(record) if self._json else self._text_line(record))
        if len(self._lines) >= self._max_buffered:
            self.flush()

    def _text_line(self, record: AccessRecord) -> str:
        device = "-" if record.device_id is None else record.device_id
        return (
            f"{self._stamp} access device={device} file={_printable(record.file) or '-'} "
            f"status={record.status} bytes={record.bytes} ms={record.milliseconds:.2f} "
            f"client={record.client} method={record.method} route={record.route} "
            f"request_id={record.request_id or '-'}\n"
        )

    def _json_line(self, record: AccessRecord) -> str:
        # orjson escapes whatever a requested name holds; the name is only cut short.
        fields = {
            "time": self._stamp,
            "level": "info",
            "worker": self._worker,
            "request_id": record.request_id,
            "logger": "magnaprov.access",
            "event": "access",
            "device": record.device_id,
            "file": None if record.file is None else record.file[:_MAX_NAME],
            "status": record.status,
            "bytes": record.bytes,
            "ms": round(record.milliseconds, 2),
            "client": record.client,
            "method": record.method,
            "route": record.route,
        }
        try:
            return orjson.dumps(fields).decode() + "\n"
        except orjson.JSONEncodeError:  # a name that is not valid Unicode (a lone surrogate)
            fields["file"] = _printable(record.file)
            return orjson.dumps(fields).decode() + "\n"

    def flush(self) -> None:
        """Write every buffered line."""
        if not self._lines or self._stream is None:
            return
        lines, self._lines = self._lines, []
        try:
            self._stream.write("".join(lines))
            self._stream.flush()
        except (OSError, ValueError) as error:  # a full disk must not fail the requests
            log.warning("%d access lines not written: %s", len(lines), error)

    def close(self) -> None:
        """Write every buffered line and close the file this log opened (never stderr)."""
        self.flush()
        stream, self._stream = self._stream, None
        if stream is not None and self._owns_stream:
            stream.close()

    async def flush_periodically(self, seconds: float = FLUSH_SECONDS) -> None:
        """Flush every `seconds` until cancelled, and once more then."""
        try:
            while True:
                await asyncio.sleep(seconds)
                self.flush()
        finally:
            self.flush()


def open_access_log(destination: str, *, json: bool = False) -> AccessLog:
    """`-` for stderr, `off` for none, otherwise a file appended to; `json` for JSON lines."""
    if destination == "off":
        return AccessLog(None)
    if destination == "-":
        return AccessLog(sys.stderr, json=json)
    path = Path(destination)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = path.open("a", encoding="utf-8", errors="backslashreplace")
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ValueError(
            f"MAGNAPROV_ACCESS_LOG: cannot append to {destination!r} ({reason}); "
            'use "-" for stderr, "off", or a writable file.'
        ) from error
    return AccessLog(stream, owns_stream=True, json=json)


def _printable(name: str | None) -> str | None:
    """A requested name made safe for one log line: escaped, quoted when odd, and cut short."""
    if name is None:
        return None
    if len(name) <= _MAX_NAME and name.isascii() and name.isprintable():
        if " " not in name and "\\" not in name:
            return name  # what phones ask for: the escaping below would return it unchanged
    shown = name[:_MAX_NAME].encode("unicode_escape").decode("ascii")
    if len(name) > _MAX_NAME:
        shown += "..."
    return shown if shown.isprintable() and " " not in shown else repr(shown)
