"""The admin's global preferences: one row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from magnaprov.db.base import Base, UtcDateTime, utcnow

__all__ = ["GLOBAL_PREFERENCES_ID", "GlobalPreferences"]

GLOBAL_PREFERENCES_ID = 1


class GlobalPreferences(Base):
    """What every device's files carry and how the device routes behave."""

    __tablename__ = "global_preferences"

    id: Mapped[int] = mapped_column(primary_key=True, default=GLOBAL_PREFERENCES_ID)
    allow_mac_provisioning: Mapped[bool] = mapped_column(Boolean, default=False)
    # Empty: derived from where `serve` listens (see resolvers.public_address).
    base_url: Mapped[str] = mapped_column(String(255), default="")
    tftp_host: Mapped[str] = mapped_column(String(255), default="")
    registrar_host: Mapped[str] = mapped_column(String(255), default="sip.example.com")
    registrar_port: Mapped[int] = mapped_column(Integer, default=5060)
    registrar_transport: Mapped[str] = mapped_column(String(8), default="UDP")
    ntp_server: Mapped[str] = mapped_column(String(255), default="pool.ntp.org")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    tftp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    tftp_allowed_networks: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
