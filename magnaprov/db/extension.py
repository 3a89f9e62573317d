"""Phone extensions, owned by user accounts and numbered inside their organization."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from magnaprov.db.account import Account
from magnaprov.db.base import Base, InTenantTree, UtcDateTime, tree_path_index, utcnow
from magnaprov.db.roles import ProvisioningLevel

__all__ = ["Extension", "ExtensionType"]


class ExtensionType(enum.StrEnum):
    """What an extension number reaches; only phone terminals have SIP phones."""

    PHONE_TERMINAL = "PHONE_TERMINAL"
    QUEUE = "QUEUE"
    IVR = "IVR"
    VOICEMAIL_CENTER = "VOICEMAIL_CENTER"
    CONFERENCE = "CONFERENCE"
    CALLBACK = "CALLBACK"
    CALLING_CARD = "CALLING_CARD"
    INTERCOM_PAGING = "INTERCOM_PAGING"
    QUEUE_LOGIN_CENTER = "QUEUE_LOGIN_CENTER"


class Extension(InTenantTree, Base):
    """An extension; `tree_path` is its owner's path, `full_number` e.g. ``0027*001``."""

    __tablename__ = "extension"
    __table_args__ = (
        UniqueConstraint("organization_id", "number"),
        tree_path_index("extension"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="RESTRICT"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="RESTRICT"))
    type: Mapped[ExtensionType] = mapped_column(Enum(ExtensionType, native_enum=False, length=24))
    name: Mapped[str] = mapped_column(String(200))
    number: Mapped[str] = mapped_column(String(3))
    # The organization code never changes, so the full number is stored for exact lookups.
    full_number: Mapped[str] = mapped_column(String(8), unique=True)
    provisioning: Mapped[ProvisioningLevel] = mapped_column(
        Enum(ProvisioningLevel, native_enum=False, length=8)
    )
    chat_server_access: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped[Account] = relationship(foreign_keys=[owner_id], lazy="raise")

    @property
    def is_phone_terminal(self) -> bool:
        """Whether the extension can have SIP preferences and a device."""
        return self.type is ExtensionType.PHONE_TERMINAL
