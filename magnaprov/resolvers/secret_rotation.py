"""`magnaprov rotate-key`: re-encrypt every retrievable secret with the primary key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from magnaprov.db import UNSCOPED, Device, RenderedFile, SipPreferences, begin_writing
from magnaprov.db.device import device_secret_identity, rendered_file_identity
from magnaprov.tenancy import SecretBox

__all__ = ["ENCRYPTED_COLUMNS", "EncryptedColumn", "reencrypt_all"]

# Rows read, re-encrypted and written back at a time: rendered files are many and large, and a
# rotation must not hold them all in memory at once.
CHUNK_SIZE = 500


@dataclass(frozen=True, slots=True)
class EncryptedColumn:
    """A column holding secrets, its row's key, and how to name the row each secret is bound to
    from the columns `named_by` (selected with the secret)."""

    label: str
    secret: InstrumentedAttribute[Any]
    row_key: InstrumentedAttribute[int]
    named_by: tuple[InstrumentedAttribute[Any], ...]
    identity: Callable[[Row[Any]], str]


def _device_column(label: str, secret: InstrumentedAttribute[Any], name: str) -> EncryptedColumn:
    return EncryptedColumn(
        label, secret, Device.id, (), lambda row: device_secret_identity(row.row_key, name)
    )


# Every encrypted column of the schema; a new one must be listed here to survive a rotation.
ENCRYPTED_COLUMNS: list[EncryptedColumn] = [
    EncryptedColumn(
        "SIP phone passwords",
        SipPreferences.phone_password,
        SipPreferences.extension_id,
        (),
        lambda row: f"sip_preferences:{row.row_key}:phone_password",
    ),
    _device_column("Device administrator passwords", Device.admin_password, "admin_password"),
    _device_column("Device keys", Device.key_secret, "key"),
    _device_column("Device HTTP Digest passwords", Device.digest_password, "digest_password"),
    EncryptedColumn(
        "Rendered files",
        RenderedFile.content,
        RenderedFile.id,
        (RenderedFile.device_id, RenderedFile.name_key),
        lambda row: rendered_file_identity(row.device_id, row.name_key),
    ),
]


async def reencrypt_all(
    session: AsyncSession, box: SecretBox, *, only_other_keys: bool = False
) -> dict[str, int]:
    """Decrypt every secret with any key of `box` and encrypt it again with its primary key.

    One transaction: either every secret is under the new key or none changed. With
    `only_other_keys`, secrets already under the primary key are left as they are (the sweep
    after a rotation, for what servers wrote with the old key meanwhile). Counts per column
    are returned for the report.
    """
    # The server may be running. Rows are locked as they are read (on SQLite the write lock is
    # taken first), so a secret changed meanwhile is re-encrypted from its new value rather
    # than overwritten with its old one, and a change arriving later waits for the commit.
    await begin_writing(session)
    counts = {
        column.label: await _reencrypt_column(session, box, column, only_other_keys)
        for column in ENCRYPTED_COLUMNS
    }
    await session.commit()
    return counts


async def _reencrypt_column(
    session: AsyncSession, box: SecretBox, column: EncryptedColumn, only_other_keys: bool
) -> int:
    primary = box.keyring.primary_id
    write = (
        update(column.secret.class_.__table__)
        .where(column.row_key.expression == bindparam("row"))
        .values({column.secret.key: bindparam("sealed")})
    )
    count, after = 0, None
    while True:
        rows = await _locked_chunk(session, column, after)
        if not rows:
            return count
        changes = [
            {"row": row.row_key, "sealed": box.seal(box.open(row.secret, identity), identity)}
            for row in rows
            if not (only_other_keys and box.key_id_of(row.secret) == primary)
            for identity in (column.identity(row),)
        ]
        if changes:
            # Core, by the table: the ORM's change announcements would empty every cache, and
            # what the caches hold (plaintext) does not change.
            connection = await session.connection()
            await connection.execute(write, changes)
        count += len(changes)
        after = rows[-1].row_key


async def _locked_chunk(
    session: AsyncSession, column: EncryptedColumn, after: int | None
) -> list[Row[Any]]:
    statement = (
        select(column.row_key.label("row_key"), *column.named_by, column.secret.label("secret"))
        .where(column.secret.is_not(None))
        .order_by(column.row_key)
        .limit(CHUNK_SIZE)
        .with_for_update()
        .execution_options(**UNSCOPED)
    )
    if after is not None:
        statement = statement.where(column.row_key > after)
    return list((await session.execute(statement)).all())
