"""`backup` and `restore`: a consistent snapshot of a live database, restored into an empty one."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from magnaprov.backup.archive import (
    KEYRING_MEMBER,
    ArchiveReader,
    Manifest,
    sha256_of,
    write_archive,
)
from magnaprov.backup.postgres_dump import (
    dump_postgres,
    postgres_tables,
    restore_postgres,
)
from magnaprov.backup.sealed_keyring import WrongPassphraseError, open_keyring, seal_keyring
from magnaprov.backup.sqlite_file import (
    database_path,
    snapshot_sqlite,
    sqlite_revision,
    sqlite_tables,
    write_sqlite,
)
from magnaprov.db import is_sqlite
from magnaprov.db.migrations import upgrade_to_head
from magnaprov.db.revisions import database_revision, head_revision, is_known_revision
from magnaprov.settings import Settings
from magnaprov.tenancy.secrets import Keyring, parse_keyring, write_key_file

__all__ = ["BackupError", "RestoreOutcome", "make_backup", "restore_backup"]

_MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class RestoreOutcome:
    """What a restore did: the archive's manifest, and where the keyring went (if anywhere)."""

    manifest: Manifest
    key_file: Path | None  # the key file written from the archive's keyring
    keyring_note: str | None  # what the operator must still do about the keyring


def make_backup(
    settings: Settings, target: Path, *, include_keyring: bool, passphrase: str | None
) -> Manifest:
    """Write an archive of the configured database (and, if asked, its sealed keyring)."""
    sealed = _sealed_keyring(settings, passphrase) if include_keyring else None
    kind = _kind(settings.database_url)
    try:
        with tempfile.TemporaryDirectory(prefix="magnaprov-backup-") as folder:
            snapshot = Path(folder) / _MEMBERS[kind]
            revision = _snapshot(settings.database_url, kind, snapshot)
            manifest = Manifest(
                format_version=1,
                database=kind,
                database_member=snapshot.name,
                database_sha256=sha256_of(snapshot),
                alembic_revision=revision,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                includes_keyring=sealed is not None,
            )
            write_archive(target, manifest, snapshot, sealed)
    except (OSError, ValueError, RuntimeError) as error:
        raise BackupError(f"Backup not written: {error}") from error
    return manifest


def restore_backup(settings: Settings, source: Path, *, passphrase: str | None) -> RestoreOutcome:
    """Restore an archive into the configured database, which must be empty, then migrate it.

    Everything is checked (archive, database kind and revision, emptiness, passphrase, key
    file) before anything is written.
    """
    url = settings.database_url
    try:
        with ArchiveReader.open(source) as archive, tempfile.TemporaryDirectory() as folder:
            manifest = archive.manifest
            _check_fits(url, manifest)
            keyring = _archived_keyring(archive, passphrase)
            if keyring is not None:
                _check_key_file_free(settings.secrets_key_file, keyring)
            # The archive names the member; the file name here is ours, never a path it chose.
            snapshot = Path(folder) / _MEMBERS[manifest.database]
            archive.copy_database_to(snapshot)
            _put_in_place(url, manifest.database, snapshot)
    except (OSError, ValueError, RuntimeError, WrongPassphraseError) as error:
        raise BackupError(f"Nothing restored: {error}") from error
    if keyring is not None:
        write_key_file(settings.secrets_key_file, keyring)
    upgrade_to_head(url)
    return RestoreOutcome(
        manifest,
        settings.secrets_key_file if keyring is not None else None,
        _keyring_note(settings, manifest, keyring),
    )


def _kind(database_url: str) -> str:
    return "sqlite" if is_sqlite(database_url) else "postgresql"


def _snapshot(database_url: str, kind: str, snapshot: Path) -> str:
    if kind == "sqlite":
        snapshot_sqlite(database_path(database_url), snapshot)
        return sqlite_revision(snapshot)
    before = _postgres_revision(database_url)
    dump_postgres(database_url, snapshot)
    if _postgres_revision(database_url) != before:
        raise RuntimeError("a migration ran while the backup was taken; take it again")
    return before


def _postgres_revision(database_url: str) -> str:
    revision = asyncio.run(database_revision(database_url))
    if revision is None:
        raise ValueError("the database has no migration revision: it was never migrated")
    return revision


def _sealed_keyring(settings: Settings, passphrase: str | None) -> bytes:
    if passphrase is None:
        raise BackupError(
            "Backup not written: --include-keyring needs a passphrase "
            "(--passphrase-file, or MAGNAPROV_BACKUP_PASSPHRASE)"
        )
    if settings.secrets_keys:
        keyring = parse_keyring(settings.secrets_keys.get_secret_value())
    elif settings.secrets_key_file.is_file():
        keyring = parse_keyring(settings.secrets_key_file.read_text())
    else:
        raise BackupError(
            f"Backup not written: there is no keyring to include (no key file "
            f"{settings.secrets_key_file}, MAGNAPROV_SECRETS_KEYS unset)"
        )
    try:
        return seal_keyring(keyring, passphrase)
    except ValueError as error:
        raise BackupError(f"Backup not written: {error}") from error


def _check_fits(database_url: str, manifest: Manifest) -> None:
    kind = _kind(database_url)
    if _MEMBERS.get(manifest.database) != manifest.database_member:
        raise ValueError(
            f"the archive's manifest names an unknown database {manifest.database!r} "
            f"({manifest.database_member!r})"
        )
    if manifest.database != kind:
        raise ValueError(
            f"the archive holds a {manifest.database} database, but MAGNAPROV_DATABASE_URL "
            f"names a {kind} one"
        )
    if not is_known_revision(database_url, manifest.alembic_revision):
        raise ValueError(
            f"the archive is at migration {manifest.alembic_revision}, which this release "
            f"does not know (its newest is {head_revision(database_url)}): restore it with "
            "the release that made it, or a newer one"
        )
    tables = _tables(database_url)
    if tables:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise ValueError(
            f"the configured database is not empty (it has {len(tables)} tables: {shown}); "
            "restore only into a new, empty database"
        )


def _tables(database_url: str) -> list[str]:
    if is_sqlite(database_url):
        return sqlite_tables(database_path(database_url))
    return asyncio.run(postgres_tables(database_url))


def _archived_keyring(archive: ArchiveReader, passphrase: str | None) -> Keyring | None:
    if not archive.manifest.includes_keyring or passphrase is None:
        return None
    return open_keyring(archive.read_bytes(KEYRING_MEMBER), passphrase)


def _check_key_file_free(key_file: Path, keyring: Keyring) -> None:
    # The key file may hold the only copy of another database's keys: never overwrite it.
    if key_file.exists() and parse_keyring(key_file.read_text()) != keyring:
        raise ValueError(
            f"the key file {key_file} exists and holds other keys; move it away (or point "
            "MAGNAPROV_SECRETS_KEY_FILE elsewhere) to write the archive's keyring"
        )


def _put_in_place(database_url: str, kind: str, snapshot: Path) -> None:
    if kind == "sqlite":
        write_sqlite(snapshot, database_path(database_url))
    else:
        restore_postgres(database_url, snapshot)


def _keyring_note(settings: Settings, manifest: Manifest, keyring: Keyring | None) -> str | None:
    if keyring is not None:
        if settings.secrets_keys:
            return (
                "MAGNAPROV_SECRETS_KEYS is set and takes precedence over the restored key file: "
                "unset it, or set it to the restored keys, before serving"
            )
        return None
    if manifest.includes_keyring:
        return (
            "The archive holds the keyring, but no passphrase was given, so it was not "
            "written: run restore again into an empty database with --passphrase-file (or "
            "MAGNAPROV_BACKUP_PASSPHRASE), or provide the keyring yourself"
        )
    return (
        "The archive holds no keyring: phone passwords, device passwords and keys can only be "
        "read with the keyring in force when the backup was made. Put that key file at "
        f"{settings.secrets_key_file} (MAGNAPROV_SECRETS_KEY_FILE) or set MAGNAPROV_SECRETS_KEYS "
        "before serving"
    )
