"""Accounts: one tree with a materialized path."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from magnaprov.db.base import Base, InTenantTree, UtcDateTime, tree_path_index, utcnow
from magnaprov.db.roles import ProvisioningLevel, Role

__all__ = ["Account"]


class Account(InTenantTree, Base):
    """An admin, provider, organization or user.

    `tree_path` is the account's own materialized path: ids from the root, e.g. ``/1/4/9/``.
    `login_key` is the login folded to lower case, so uniqueness ignores case on every database.
    """

    __tablename__ = "account"
    __table_args__ = (tree_path_index("account"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="RESTRICT"), index=True
    )
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    name: Mapped[str] = mapped_column(String(200))
    login: Mapped[str] = mapped_column(String(64))
    login_key: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    # Organizations only: 4 digits, zero-padded, prefix of their extensions' full numbers.
    code: Mapped[str | None] = mapped_column(String(4), unique=True)
    provisioning: Mapped[ProvisioningLevel] = mapped_column(
        Enum(ProvisioningLevel, native_enum=False, length=8), default=ProvisioningLevel.NONE
    )
    sip_management: Mapped[bool] = mapped_column(Boolean, default=False)
    # Viewer preference: go straight to provisioning after adding an extension.
    provision_new_extensions: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    parent: Mapped[Account | None] = relationship(remote_side=[id], lazy="raise")

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to the parent, read from the path."""
        return [int(part) for part in self.tree_path.strip("/").split("/")[:-1]]
