"""`magnaprov rotate-key`: re-encrypt every retrievable secret with the primary key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from magnaprov.db import UNSCOPED, Device, SipPreferences, begin_writing
from magnaprov.tenancy import SecretBox

__all__ = ["ENCRYPTED_COLUMNS", "EncryptedColumn", "reencrypt_all"]


@dataclass(frozen=True, slots=True)
class EncryptedColumn:
    """A column holding secrets, and how to name the row each secret is bound to."""

    label: str
    model: type[Any]
    attribute: str
    identity: Callable[[Any], str]


# Every encrypted column of the schema; a new one must be listed here to survive a rotation.
ENCRYPTED_COLUMNS: list[EncryptedColumn] = [
    EncryptedColumn(
        "SIP phone passwords", SipPreferences, "phone_password", SipPreferences.password_identity
    ),
    EncryptedColumn(
        "Device administrator passwords",
        Device,
        "admin_password",
        lambda device: device.secret_identity("admin_password"),
    ),
    EncryptedColumn(
        "Device keys", Device, "key_secret", lambda device: device.secret_identity("key")
    ),
    EncryptedColumn(
        "Device HTTP Digest passwords",
        Device,
        "digest_password",
        lambda device: device.secret_identity("digest_password"),
    ),
]


async def reencrypt_all(session: AsyncSession, box: SecretBox) -> dict[str, int]:
    """Decrypt every secret with any key of `box` and encrypt it again with its primary key.

    One transaction: either every secret is under the new key or none changed. Counts per
    column are returned for the report.
    """
    counts: dict[str, int] = {}
    # The server may be running. Rows are locked as they are read (on SQLite the write lock is
    # taken first), so a secret changed meanwhile is re-encrypted from its new value rather
    # than overwritten with its old one, and a change arriving later waits for the commit.
    await begin_writing(session)
    for column in ENCRYPTED_COLUMNS:
        attribute = getattr(column.model, column.attribute)
        rows = await session.scalars(
            select(column.model)
            .where(attribute.is_not(None))
            .with_for_update()
            .execution_options(**UNSCOPED)
        )
        count = 0
        for row in rows:
            identity = column.identity(row)
            plaintext = box.decrypt(getattr(row, column.attribute), identity)
            setattr(row, column.attribute, box.encrypt(plaintext, identity))
            count += 1
        counts[column.label] = count
    await session.commit()
    return counts
