"""rendered files' content encrypted at rest

Revision ID: 0005
Revises: 0004

Rendered files hold line passwords, administrator passwords and device keys. Their content is
now encrypted like the other secrets (AES-256-GCM, bound to the row: device and file name);
this revision encrypts the rows written before it, and its downgrade decrypts them.

The keyring comes from whoever runs the migration: `magnaprov serve | migrate | ...` hand over
the box of their settings (`magnaprov.db.migrations.upgrade_to_head`); a bare `alembic upgrade`
loads it from the same settings as the app. Doing it here, rather than in a command or at the
first start, keeps one rule: a database at this revision holds no file in clear, whichever
process opened it first. The keyring is loaded only when there are rows to convert, so a new
database needs none, and it is never created here: rows to encrypt mean devices exist, whose
secrets were made with a key that must already be there.

Old copies of the plaintext may remain in free pages (SQLite: zeroed here with secure_delete,
but the WAL and backups keep theirs) or dead row versions (PostgreSQL, until VACUUM).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from alembic import context, op
from magnaprov.db.device import rendered_file_identity
from magnaprov.db.migrations import secrets_for
from magnaprov.resolvers.services import secret_box_for
from magnaprov.settings import get_settings
from magnaprov.tenancy import SecretBox, SecretDecryptionError

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 500
_FILES = sa.table(
    "rendered_file",
    sa.column("id", sa.Integer),
    sa.column("device_id", sa.Integer),
    sa.column("name_key", sa.String),
    sa.column("content", sa.LargeBinary),
)


def upgrade() -> None:
    # contract step: changes the meaning of rendered_file.content in place, which the release
    # before it cannot read; a security fix cannot keep the plaintext for a release, so the
    # README's upgrade section says to stop that release's workers before migrating.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA secure_delete = ON")  # the replaced plaintext is zeroed, not freed
    _convert(_encrypted)


def downgrade() -> None:
    _convert(_decrypted)


def _box() -> SecretBox:
    factory = secrets_for(context.config)
    box: SecretBox = (
        factory() if factory is not None else secret_box_for(get_settings(), create=False)
    )
    return box


def _encrypted(box: SecretBox, content: bytes, identity: str) -> bytes | None:
    try:
        box.open(content, identity)
    except SecretDecryptionError:
        return box.seal(content, identity)
    return None  # already encrypted: a revision run again changes nothing


def _decrypted(box: SecretBox, content: bytes, identity: str) -> bytes | None:
    return box.open(content, identity)


def _convert(change: Callable[[SecretBox, bytes, str], bytes | None]) -> None:
    bind = op.get_bind()
    box: SecretBox | None = None
    write = (
        sa.update(_FILES)
        .where(_FILES.c.id == sa.bindparam("row"))
        .values(content=sa.bindparam("converted"))
    )
    after = 0
    while rows := _chunk(bind, after):
        box = box or _box()
        changes: list[dict[str, Any]] = []
        for row in rows:
            identity = rendered_file_identity(row.device_id, row.name_key)
            converted = change(box, bytes(row.content), identity)
            if converted is not None:
                changes.append({"row": row.id, "converted": converted})
        if changes:
            bind.execute(write, changes)
        after = rows[-1].id


def _chunk(bind: sa.Connection, after: int) -> Sequence[sa.Row[Any]]:
    return bind.execute(
        sa.select(_FILES).where(_FILES.c.id > after).order_by(_FILES.c.id).limit(CHUNK)
    ).all()
