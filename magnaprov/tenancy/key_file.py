"""The key file as a keyring that may change under a running process (`magnaprov rotate-key`)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from magnaprov.tenancy.secrets import Keyring, SecretBox, load_keyring, parse_keyring

__all__ = ["KeyFileWatch", "open_secret_box"]

log = logging.getLogger("magnaprov.secrets")

# What identifies one version of the file: rotate-key replaces it (a new inode) atomically.
_Version = tuple[int, int, int, int]


class KeyFileWatch:
    """Re-reads the key file when it was replaced or changed since it was last read."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._version = _version_of(path)

    def changed(self) -> Keyring | None:
        """The file's keyring if it changed since the last read, else None (one stat)."""
        version = _version_of(self._path)
        if version is None or version == self._version:
            return None
        try:
            keyring = parse_keyring(self._path.read_text())
        except (OSError, ValueError) as error:
            # Half-edited by hand, say: keep the keys in use rather than fail every secret.
            log.error("key file %s not reloaded: %s", self._path, type(error).__name__)
            return None
        self._version = version
        log.info("key file reloaded: primary key %s", keyring.primary_id)
        return keyring


def open_secret_box(
    from_environment: str | None, key_file: Path, *, create: bool = True
) -> SecretBox:
    """The box of the keyring from the environment if given (fixed for the process), else of
    the key file (followed while the process runs; created on first use when `create`)."""
    if from_environment:
        return SecretBox(load_keyring(from_environment, key_file))
    if not create and not key_file.exists():
        raise FileNotFoundError(
            f"secrets key file {key_file} not found (set MAGNAPROV_SECRETS_KEY_FILE or "
            "MAGNAPROV_SECRETS_KEYS)"
        )
    # Watched from before it is read: a change in between is taken up at the first use.
    watch = KeyFileWatch(key_file)
    return SecretBox(load_keyring(None, key_file), watch)


def _version_of(path: Path) -> _Version | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size, stat.st_ctime_ns)
