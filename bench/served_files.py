"""The rendered files of a fleet as plain files: the document root of the reference servers.

`<root>/www/prov/<key>/<name>` holds the bytes magnaprov serves at `/prov/<key>/<name>`;
`<root>/headers.json` maps each path to the ETag, Last-Modified and Content-Type magnaprov sends
with it, so the in-memory reference answers with the same headers as well as the same bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.fleet import BENCH_KEYRING, FleetDevice
from magnaprov.db import Device, RenderedFile
from magnaprov.db.device import rendered_file_identity
from magnaprov.templating import FileFormat, find_equipment
from magnaprov.tenancy.secrets import SecretBox, parse_keyring

__all__ = ["ServedCopy", "export_served_files", "nginx_etag"]

XML_TYPE = "application/xml"
TEXT_TYPE = "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class ServedCopy:
    """Where the copy is, and each URL path with the ETag magnaprov gives it."""

    root: Path
    etags: dict[str, str]

    @property
    def www(self) -> Path:
        """The document root (holds `prov/`)."""
        return self.root / "www"

    @property
    def headers_file(self) -> Path:
        """JSON: path -> {etag, last_modified, content_type}."""
        return self.root / "headers.json"


async def export_served_files(
    engine: AsyncEngine, devices: Sequence[FleetDevice], root: Path
) -> ServedCopy:
    """Write every device's rendered files under `root` and return their paths and ETags."""
    keys = {device.device_id: device.key for device in devices}
    box = SecretBox(parse_keyring(BENCH_KEYRING))  # the files are stored encrypted
    headers: dict[str, dict[str, str]] = {}
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(
                RenderedFile.device_id,
                RenderedFile.name,
                RenderedFile.name_key,
                RenderedFile.content,
                RenderedFile.etag,
                RenderedFile.rendered_at,
                Device.manufacturer,
                Device.model,
                Device.firmware,
            ).join(Device, Device.id == RenderedFile.device_id)
        )
        for row in rows:
            path = f"/prov/{keys[row.device_id]}/{row.name}"
            target = root / "www" / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            identity = rendered_file_identity(row.device_id, row.name_key)
            target.write_bytes(box.open(row.content, identity))
            headers[path] = {
                "etag": row.etag,
                "last_modified": format_datetime(row.rendered_at.astimezone(UTC), usegmt=True),
                "content_type": _content_type(row.manufacturer, row.model, row.firmware, row.name),
            }
    (root / "headers.json").write_text(json.dumps(headers))
    return ServedCopy(root, {path: entry["etag"] for path, entry in headers.items()})


def nginx_etag(copy: ServedCopy, path: str) -> str:
    """The ETag nginx computes for a static file: hex mtime and hex size."""
    status = os.stat(copy.www / path.lstrip("/"))
    return f'"{int(status.st_mtime):x}-{status.st_size:x}"'


def _content_type(manufacturer: str, model: str, firmware: str, name: str) -> str:
    # What magnaprov's file store sends: XML for files the catalog declares as XML.
    equipment = find_equipment(manufacturer, model, firmware)
    found = None if equipment is None else equipment.firmware.match_file_name(name)
    spec = None if found is None or equipment is None else equipment.firmware.file(found.pattern)
    if spec is None:
        return XML_TYPE if name.lower().endswith(".xml") else TEXT_TYPE
    return XML_TYPE if spec.format is FileFormat.XML else TEXT_TYPE
