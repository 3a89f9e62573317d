"""Backup and restore of the database (and, sealed with a passphrase, the keyring)."""

from magnaprov.backup.archive import Manifest
from magnaprov.backup.operations import BackupError, RestoreOutcome, make_backup, restore_backup
from magnaprov.backup.passphrase import read_passphrase

__all__ = [
    "BackupError",
    "Manifest",
    "RestoreOutcome",
    "make_backup",
    "read_passphrase",
    "restore_backup",
]
