"""Every migration keeps the previous release working (expand only), unless a step is marked
as a later release's contract step; the rule itself catches each kind of breaking step."""

from __future__ import annotations

import pytest
from conftest import PROJECT_ROOT
from migration_rules import contract_breaks

MIGRATIONS = sorted((PROJECT_ROOT / "alembic" / "versions").glob("*.py"))


def test_there_are_migrations_to_check():
    assert len(MIGRATIONS) >= 4


@pytest.mark.parametrize("migration", MIGRATIONS, ids=lambda path: path.name)
def test_no_migration_breaks_the_previous_release_without_a_contract_marker(migration):
    assert contract_breaks(migration.read_text()) == [], (
        f"{migration.name}: the previous release serves this database during a rolling "
        "upgrade; move the step to a later release or mark it '# contract step: <why>'"
    )


BREAKING = {
    "drop_column": 'op.drop_column("device", "notes")',
    "batch drop_column": (
        'with op.batch_alter_table("device") as batch_op:\n        batch_op.drop_column("notes")'
    ),
    "drop_table": 'op.drop_table("rendered_file")',
    "rename_table": 'op.rename_table("device", "phone")',
    "rename column": 'op.alter_column("device", "notes", new_column_name="remarks")',
    "set NOT NULL": 'op.alter_column("device", "notes", nullable=False)',
    "NOT NULL without default": (
        'op.add_column("device", sa.Column("site", sa.String(20), nullable=False))'
    ),
    "raw SQL drop": 'op.execute("ALTER TABLE device DROP COLUMN notes")',
}


def migration(body: str, downgrade: str = "pass") -> str:
    """A migration module whose functions hold these statements (lines indented by 4)."""
    return (
        "import sqlalchemy as sa\nfrom alembic import op\n\n\n"
        f"def upgrade() -> None:\n    {body}\n\n\ndef downgrade() -> None:\n    {downgrade}\n"
    )


@pytest.mark.parametrize("body", BREAKING.values(), ids=BREAKING.keys())
def test_each_contract_breaking_step_is_caught(body):
    [problem] = contract_breaks(migration(body))
    assert problem.startswith("line ")


@pytest.mark.parametrize("body", BREAKING.values(), ids=BREAKING.keys())
def test_a_step_marked_as_contract_passes(body):
    marked = "# contract step: 0.3 stopped reading it\n    " + body
    assert contract_breaks(migration(marked)) == []


def test_expanding_steps_and_drops_in_downgrade_pass():
    body = (
        'op.add_column("device", sa.Column("site", sa.String(20), nullable=True))\n    '
        'op.add_column("device", sa.Column("rank", sa.Integer(), nullable=False, '
        'server_default="0"))\n    '
        'op.create_index("ix_device_site", "device", ["site"])'
    )
    assert contract_breaks(migration(body, downgrade='op.drop_column("device", "site")')) == []
