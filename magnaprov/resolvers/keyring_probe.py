"""Whether the server's keyring opens the secrets it will be asked for (for /readyz)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from magnaprov.db import UNSCOPED
from magnaprov.resolvers.secret_rotation import ENCRYPTED_COLUMNS
from magnaprov.tenancy import SecretBox, SecretDecryptionError

__all__ = ["probe_keyring"]

_PROBE = "readiness probe"
_PROBE_IDENTITY = "readiness:probe"


async def probe_keyring(session: AsyncSession, box: SecretBox) -> str | None:
    """None when `box` round-trips a probe value and opens the newest stored secret of every
    encrypted column; otherwise what failed.

    A round trip alone would pass with any key: the stored secrets tell whether this is the
    keyring the data was written with (a server given an old or a wrong key, or one that
    missed a rotation, cannot render files or show passwords).
    """
    try:
        if box.decrypt(box.encrypt(_PROBE, _PROBE_IDENTITY), _PROBE_IDENTITY) != _PROBE:
            return "the primary key does not round-trip a probe value"
    except SecretDecryptionError as error:
        return f"the primary key does not round-trip a probe value: {error}"
    for column in ENCRYPTED_COLUMNS:
        row = (
            await session.execute(
                select(
                    column.row_key.label("row_key"),
                    *column.named_by,
                    column.secret.label("secret"),
                )
                .where(column.secret.is_not(None))
                .order_by(column.row_key.desc())
                .limit(1)
                .execution_options(**UNSCOPED)
            )
        ).first()
        if row is None:
            continue
        try:
            box.open(row.secret, column.identity(row))
        except SecretDecryptionError as error:
            return f"{column.label}: {error}"
    return None
