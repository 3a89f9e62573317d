"""audit entries carry their actor's and subject's place in the tree

Revision ID: 0006
Revises: 0005

Providers and organizations read the audit of their own subtree: an entry belongs to the
subtrees of its actor and of its subject (the device or template it is about). Existing entries
get both paths from the rows they name where those still exist; an entry whose actor and
subject are gone stays the admin's alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUBJECT_TABLES = {"device": "device", "provisioning_template": "provisioning_template"}


def upgrade() -> None:
    with op.batch_alter_table("audit_entry") as batch:
        batch.add_column(sa.Column("actor_path", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("subject_path", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("admin_details", sa.Text(), nullable=True))
    op.execute(
        "UPDATE audit_entry SET actor_path = "
        "(SELECT account.tree_path FROM account WHERE account.id = audit_entry.actor_id)"
    )
    for object_type, table in _SUBJECT_TABLES.items():
        op.execute(
            f"UPDATE audit_entry SET subject_path = "  # noqa: S608 - names from this file
            f"(SELECT {table}.tree_path FROM {table} WHERE {table}.id = audit_entry.object_id) "
            f"WHERE object_type = '{object_type}'"
        )
    for column in ("actor_path", "subject_path"):
        op.create_index(
            f"ix_audit_entry_{column}",
            "audit_entry",
            [column],
            postgresql_ops={column: "varchar_pattern_ops"},
        )


def downgrade() -> None:
    for column in ("actor_path", "subject_path"):
        op.drop_index(f"ix_audit_entry_{column}", table_name="audit_entry")
    with op.batch_alter_table("audit_entry") as batch:
        batch.drop_column("admin_details")
        batch.drop_column("subject_path")
        batch.drop_column("actor_path")
