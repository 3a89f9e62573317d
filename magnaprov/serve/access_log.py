"""One structured line per device-route request, on logger `magnaprov.access`.

The line names the device by id, never by its key, and carries no header value but the client
address: the URL key, Authorization and the files themselves are secrets. The same fields are
attached to the record as `record.access` for JSON formatters.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

__all__ = ["AccessRecord", "log_access"]

logger = logging.getLogger("magnaprov.access")

_MAX_NAME = 128


@dataclass(frozen=True, slots=True)
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


def log_access(record: AccessRecord) -> None:
    """Log one request at INFO."""
    if not logger.isEnabledFor(logging.INFO):
        return
    # By hand: dataclasses.asdict deep-copies field by field, several microseconds a request.
    name = _printable(record.file)
    fields = {
        "route": record.route,
        "method": record.method,
        "status": record.status,
        "bytes": record.bytes,
        "milliseconds": round(record.milliseconds, 2),
        "client": record.client,
        "device_id": record.device_id,
        "file": name,
    }
    logger.info(
        "device=%s file=%s status=%d bytes=%d ms=%.2f client=%s method=%s route=%s",
        "-" if record.device_id is None else record.device_id,
        name or "-",
        record.status,
        record.bytes,
        record.milliseconds,
        record.client,
        record.method,
        record.route,
        extra={"access": fields},
    )


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
