"""The backup archive: a gzipped tar of a manifest, the database snapshot and, if asked for,
the sealed keyring. Written to a temporary name and renamed, readable by the owner only."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

__all__ = [
    "FORMAT_VERSION",
    "KEYRING_MEMBER",
    "MANIFEST_MEMBER",
    "ArchiveReader",
    "Manifest",
    "sha256_of",
    "write_archive",
]

FORMAT_VERSION = 1
MANIFEST_MEMBER = "manifest.json"
KEYRING_MEMBER = "keyring.sealed.json"
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Manifest:
    """What an archive holds: read first on restore, before anything is written."""

    format_version: int
    database: str  # "sqlite" or "postgresql"
    database_member: str
    database_sha256: str
    alembic_revision: str
    created_at: str  # ISO 8601, UTC
    includes_keyring: bool

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            values: dict[str, Any] = json.loads(data)
        except ValueError as error:
            raise ValueError("the archive's manifest is not valid JSON") from error
        if values.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"archive format {values.get('format_version')!r} is not one this release "
                f"reads ({FORMAT_VERSION})"
            )
        try:
            return cls(**values)
        except TypeError as error:
            raise ValueError(f"the archive's manifest is incomplete: {error}") from error


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_archive(
    target: Path, manifest: Manifest, snapshot: Path, sealed_keyring: bytes | None
) -> None:
    """Write the archive at `target` (owner-only), replacing it only once complete."""
    temporary = target.with_name(f".{target.name}.partial")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            _add_bytes(tar, MANIFEST_MEMBER, manifest.to_json())
            tar.add(snapshot, arcname=manifest.database_member, filter=_owner_only)
            if sealed_keyring is not None:
                _add_bytes(tar, KEYRING_MEMBER, sealed_keyring)
            tar.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _owner_only(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


class ArchiveReader:
    """Reads named members of an archive; never extracts paths the archive chooses."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self._tar = tar
        self.manifest = Manifest.from_json(self.read_bytes(MANIFEST_MEMBER))
        if self.manifest.includes_keyring and KEYRING_MEMBER not in tar.getnames():
            raise ValueError("the manifest says the archive holds a keyring, but it does not")

    @classmethod
    @contextmanager
    def open(cls, path: Path) -> Iterator[ArchiveReader]:
        """The archive at `path`; ValueError with the reason when it is not one of ours."""
        try:
            tar = tarfile.open(path, mode="r:*")
        except (OSError, tarfile.TarError) as error:
            raise ValueError(f"{path} is not a readable backup archive: {error}") from error
        with tar:
            yield cls(tar)

    def read_bytes(self, name: str) -> bytes:
        with self._member(name) as handle:
            return handle.read()

    def copy_database_to(self, target: Path) -> None:
        """Write the database snapshot to `target`, checking its digest."""
        digest = hashlib.sha256()
        with self._member(self.manifest.database_member) as source, target.open("wb") as out:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != self.manifest.database_sha256:
            raise ValueError("the archive's database snapshot is damaged (checksum mismatch)")

    @contextmanager
    def _member(self, name: str) -> Iterator[IO[bytes]]:
        try:
            member = self._tar.getmember(name)
        except KeyError:
            raise ValueError(f"the archive has no {name}") from None
        handle = self._tar.extractfile(member) if member.isfile() else None
        if handle is None:
            raise ValueError(f"the archive's {name} is not a regular file")
        with handle:
            yield handle
