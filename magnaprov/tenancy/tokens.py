"""Bearer token values: random, shown once, looked up by their SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["TOKEN_PREFIX", "hash_token", "new_token"]

# A recognisable prefix lets secret scanners and log filters spot a leaked token.
TOKEN_PREFIX = "mpv_"  # noqa: S105 (a public marker, not a secret)


def new_token() -> str:
    """A fresh token with 256 random bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The digest stored in place of the token.

    A fast hash is right here: the token has 256 bits of entropy, so unlike a password it
    cannot be guessed from its digest, and lookups must stay cheap on every request.
    """
    return hashlib.sha256(token.encode()).hexdigest()
