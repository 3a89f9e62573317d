"""Where a backup's passphrase comes from: a file or the environment, never the command line."""

from __future__ import annotations

from pathlib import Path

from magnaprov.settings import Settings

__all__ = ["read_passphrase"]


def read_passphrase(passphrase_file: Path | None, settings: Settings) -> str | None:
    """The passphrase from `passphrase_file` (its first line), else MAGNAPROV_BACKUP_PASSPHRASE."""
    if passphrase_file is not None:
        try:
            lines = passphrase_file.read_text().splitlines()
        except OSError as error:
            raise ValueError(
                f"--passphrase-file: cannot read {passphrase_file}: {error}"
            ) from error
        if not lines or not lines[0]:
            raise ValueError(f"--passphrase-file: {passphrase_file} is empty")
        return lines[0]
    if settings.backup_passphrase is not None:
        return settings.backup_passphrase.get_secret_value() or None
    return None
