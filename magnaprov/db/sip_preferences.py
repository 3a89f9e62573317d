"""SIP preferences of a phone-terminal extension."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from magnaprov.db.base import Base, UtcDateTime, utcnow

__all__ = ["Codec", "DtmfMode", "SipPreferences"]


class DtmfMode(enum.StrEnum):
    """How key presses travel."""

    RFC2833 = "RFC2833"
    INBAND = "INBAND"
    INFO = "INFO"
    AUTO = "AUTO"


class Codec(enum.StrEnum):
    """Audio codecs a phone may offer, in the order of preference it is given."""

    PCMU = "PCMU"
    PCMA = "PCMA"
    G722 = "G722"
    G729 = "G729"
    OPUS = "OPUS"
    ILBC = "ILBC"
    GSM = "GSM"


DEFAULT_CODECS = (Codec.PCMA, Codec.PCMU, Codec.G722)


class SipPreferences(Base):
    """One row per phone-terminal extension; the phone password is encrypted."""

    __tablename__ = "sip_preferences"

    extension_id: Mapped[int] = mapped_column(
        ForeignKey("extension.id", ondelete="CASCADE"), primary_key=True
    )
    phone_password: Mapped[bytes | None] = mapped_column(LargeBinary)
    use_interface_password: Mapped[bool] = mapped_column(Boolean, default=False)
    equipment_description: Mapped[str] = mapped_column(String(200), default="")
    dtmf_mode: Mapped[DtmfMode] = mapped_column(
        Enum(DtmfMode, native_enum=False, length=8), default=DtmfMode.RFC2833
    )
    # Ordered, comma-separated Codec values: order is the phone's preference.
    codecs: Mapped[str] = mapped_column(String(100), default=",".join(DEFAULT_CODECS))
    nat_keep_alive: Mapped[bool] = mapped_column(Boolean, default=True)
    # Comma-separated networks in CIDR form; empty means anywhere.
    allowed_registration_ips: Mapped[str] = mapped_column(Text, default="")
    presence_publishing: Mapped[bool] = mapped_column(Boolean, default=False)
    direct_media: Mapped[bool] = mapped_column(Boolean, default=False)
    forced_mwi: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    def password_identity(self) -> str:
        """Associated data binding the encrypted phone password to this row."""
        return f"sip_preferences:{self.extension_id}:phone_password"

    @property
    def codec_list(self) -> list[Codec]:
        """The codecs in order of preference."""
        return [Codec(code) for code in self.codecs.split(",") if code]

    @property
    def network_list(self) -> list[str]:
        """The allowed registration networks."""
        return [network for network in self.allowed_registration_ips.split(",") if network]
