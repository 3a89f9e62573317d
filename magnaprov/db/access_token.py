"""Bearer tokens: login sessions and named API tokens, stored only as hashes."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from magnaprov.db.account import Account
from magnaprov.db.base import Base, UtcDateTime, utcnow

__all__ = ["AccessToken", "TokenKind"]


class TokenKind(enum.StrEnum):
    """A session from `login`, or a long-lived API token from `createApiToken`."""

    SESSION = "SESSION"
    API = "API"


class AccessToken(Base):
    """One issued token; the clear value was shown once and is not kept."""

    __tablename__ = "access_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[TokenKind] = mapped_column(Enum(TokenKind, native_enum=False, length=8))
    name: Mapped[str | None] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    account: Mapped[Account] = relationship(lazy="raise")
