"""The audit log: who changed what, when, from where. Never a secret."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from magnaprov.db.base import Base, UtcDateTime, utcnow

__all__ = ["AuditEntry"]


def _path_index(column: str) -> Index:
    # Subtree reads match these with LIKE 'prefix%' (see `magnaprov.db.scoping`).
    return Index(f"ix_audit_entry_{column}", column, postgresql_ops={column: "varchar_pattern_ops"})


class AuditEntry(Base):
    """One change; `details` is JSON of field names and non-secret values.

    A viewer reads the entries whose actor or subject lies in its subtree (`actor_path`,
    `subject_path`: materialized paths, null for none). An entry with neither, such as a login
    attempt for an unknown name, is the admin's alone. `admin_details` is JSON only the admin
    reads, such as which tenant holds a MAC another tenant tried to claim.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (_path_index("actor_path"), _path_index("subject_path"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    # The login is copied: the account may be deleted later, the record stays readable.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    actor_login: Mapped[str] = mapped_column(String(64))
    actor_path: Mapped[str | None] = mapped_column(String(255))
    client_address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column(Integer)
    subject_path: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[str] = mapped_column(Text, default="{}")
    admin_details: Mapped[str | None] = mapped_column(Text)
