"""Declarative base, constraint naming convention and the shared column mixins."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Index, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = ["Base", "InTenantTree", "UtcDateTime", "tree_path_index", "utcnow"]

# Named constraints let Alembic alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware in UTC, SQLite included."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # SQLite drops the offset; we only ever store UTC
        return value


class Base(DeclarativeBase):
    """Base of every mapped class."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class InTenantTree:
    """A row that belongs somewhere in the account tree.

    `tree_path` is the materialized path of the owning account (for an account, its own path),
    e.g. ``/1/4/9/``; "everything a viewer may see" is then one indexed prefix match, applied
    centrally by `magnaprov.db.scoping`.
    """

    tree_path: Mapped[str] = mapped_column(String(255))


def tree_path_index(table_name: str) -> Index:
    """The index behind subtree queries; each `InTenantTree` table lists it in `__table_args__`.

    PostgreSQL uses a b-tree for ``LIKE 'prefix%'`` only with pattern operators (or the C
    collation); SQLite does with ``case_sensitive_like`` on, which the engine sets.
    """
    return Index(
        f"ix_{table_name}_tree_path",
        "tree_path",
        postgresql_ops={"tree_path": "varchar_pattern_ops"},
    )
