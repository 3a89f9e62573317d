"""device rows leave room for in-place updates (PostgreSQL fillfactor)

Revision ID: 0004
Revises: 0003

Last contacts are written back to the device rows all the time; see DEVICE_FILLFACTOR. Pages
written before this revision keep what they hold and gain the room as their rows move on
update or as VACUUM FULL rewrites the table. SQLite has no such setting.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The value of this revision, not the model's constant: a later change needs a revision of its own.
FILLFACTOR = 70


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE device SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE device RESET (fillfactor)")
