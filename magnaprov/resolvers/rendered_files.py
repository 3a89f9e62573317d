"""Reading a device's rendered file back, for viewers who may modify the device."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from magnaprov.db import RenderedFile
from magnaprov.db.device import rendered_file_identity
from magnaprov.tenancy import SecretBox, SecretDecryptionError

__all__ = ["rendered_file_text"]

log = logging.getLogger("magnaprov.secrets")


async def rendered_file_text(
    session: AsyncSession, secrets: SecretBox, file: RenderedFile
) -> str | None:
    """The stored text of `file` (its content is loaded and decrypted only here); None if the
    row is gone or its content cannot be decrypted. The caller checks the viewer's access."""
    content = await session.scalar(select(RenderedFile.content).where(RenderedFile.id == file.id))
    if content is None:
        return None
    try:
        plaintext = secrets.open(content, rendered_file_identity(file.device_id, file.name_key))
    except SecretDecryptionError as error:
        log.error("device %s: file %r unreadable: %s", file.device_id, file.name, error)
        return None
    return plaintext.decode("utf-8", errors="replace")
