"""Account-owned provisioning templates and their files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from magnaprov.db.base import Base, InTenantTree, UtcDateTime, tree_path_index, utcnow

__all__ = ["ProvisioningTemplate", "TemplateFile"]


class ProvisioningTemplate(InTenantTree, Base):
    """A named set of template files owned by an account (`tree_path` is the owner's)."""

    __tablename__ = "provisioning_template"
    __table_args__ = (tree_path_index("provisioning_template"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class TemplateFile(Base):
    """The source of one file of one equipment in a template."""

    __tablename__ = "template_file"
    __table_args__ = (
        UniqueConstraint("template_id", "manufacturer", "model", "firmware", "pattern"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("provisioning_template.id", ondelete="CASCADE"), index=True
    )
    manufacturer: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(64))
    firmware: Mapped[str] = mapped_column(String(64))
    pattern: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
