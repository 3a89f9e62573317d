"""SIP phones (devices) of phone-terminal extensions, and their rendered files."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from magnaprov.db.base import Base, InTenantTree, UtcDateTime, tree_path_index, utcnow

__all__ = [
    "DEVICE_FILLFACTOR",
    "Device",
    "PasswordGeneration",
    "RenderedFile",
    "UpdateProtocol",
    "device_secret_identity",
    "rendered_file_identity",
]

# Percent of each PostgreSQL page filled on insert. Every fetch's last contact is written back
# to the device row; with room left on its page the new row version stays there and no index
# changes (a HOT update). Full pages made every contact flush update all six indexes: measured
# at 10,000 devices, 25-43 us of server CPU per row, against 6-11 us at 70.
DEVICE_FILLFACTOR = 70


class PasswordGeneration(enum.StrEnum):
    """How the phone's web administrator password is chosen."""

    NONE = "NONE"
    AUTO = "AUTO"
    MANUAL = "MANUAL"


class UpdateProtocol(enum.StrEnum):
    """How the phone fetches its files."""

    TFTP = "TFTP"
    HTTP = "HTTP"
    HTTPS = "HTTPS"


class Device(InTenantTree, Base):
    """The one SIP phone of a phone-terminal extension (`tree_path` is the owner's)."""

    __tablename__ = "device"
    __table_args__ = (
        tree_path_index("device"),
        {"postgresql_with": {"fillfactor": DEVICE_FILLFACTOR}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    extension_id: Mapped[int] = mapped_column(
        ForeignKey("extension.id", ondelete="CASCADE"), unique=True
    )
    friendly_name: Mapped[str] = mapped_column(String(32))
    manufacturer: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(64))
    firmware: Mapped[str] = mapped_column(String(64))
    application_version: Mapped[str] = mapped_column(String(64), default="")
    # Lower case with colons, unique across every tenant.
    mac: Mapped[str] = mapped_column(String(17), unique=True)
    use_mac_provisioning: Mapped[bool] = mapped_column(Boolean, default=False)
    generation_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    admin_username: Mapped[str] = mapped_column(String(64), default="admin")
    password_generation: Mapped[PasswordGeneration] = mapped_column(
        Enum(PasswordGeneration, native_enum=False, length=8), default=PasswordGeneration.NONE
    )
    admin_password: Mapped[bytes | None] = mapped_column(LargeBinary)
    update_interval: Mapped[int] = mapped_column(Integer, default=10)
    update_protocol: Mapped[UpdateProtocol] = mapped_column(
        Enum(UpdateProtocol, native_enum=False, length=8)
    )
    # NULL: the built-in Server default template.
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("provisioning_template.id", ondelete="RESTRICT"), index=True
    )
    # The key in the device's URLs: found by its digest, kept encrypted to show the links again.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_secret: Mapped[bytes] = mapped_column(LargeBinary)
    # Optional HTTP Digest credentials for the device routes.
    digest_username: Mapped[str | None] = mapped_column(String(64))
    digest_password: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Files only over HTTPS to a client certificate of the vendor's CA naming this MAC.
    require_client_certificate: Mapped[bool] = mapped_column(Boolean, default=False)
    last_contact_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_contact_address: Mapped[str | None] = mapped_column(String(64))
    last_contact_user_agent: Mapped[str | None] = mapped_column(String(512))
    last_contact_firmware: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    def secret_identity(self, column: str) -> str:
        """Associated data binding an encrypted column of this device to its row."""
        return device_secret_identity(self.id, column)


def device_secret_identity(device_id: int, column: str) -> str:
    """Associated data binding an encrypted column of device `device_id` to its row."""
    return f"device:{device_id}:{column}"


class RenderedFile(Base):
    """One file of a device as rendered: the bytes the routes serve."""

    __tablename__ = "rendered_file"
    __table_args__ = (UniqueConstraint("device_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    # The name folded to lower case: phones ask in whatever case their vendor uses.
    name_key: Mapped[str] = mapped_column(String(128))
    # Encrypted (it holds line passwords and the device key), bound to `rendered_file_identity`.
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # Of the plaintext: `size` in bytes, `etag` its quoted SHA-256 (what renders compare).
    size: Mapped[int] = mapped_column(Integer)
    etag: Mapped[str] = mapped_column(String(80))
    rendered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    def content_identity(self) -> str:
        """Associated data binding this file's encrypted content to its row."""
        return rendered_file_identity(self.device_id, self.name_key)


def rendered_file_identity(device_id: int, name_key: str) -> str:
    """Associated data binding the content of device `device_id`'s file `name_key` to its row."""
    return f"rendered_file:{device_id}:{name_key}"
