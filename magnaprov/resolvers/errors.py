"""Expected failures as data: the `userErrors` every mutation payload carries."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = ["ErrorCode", "ExpectedError", "InvalidArgument", "Problems", "UserError"]


class ErrorCode(enum.StrEnum):
    """Stable, machine-readable reasons an input was refused."""

    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_SHORT = "TOO_SHORT"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    NOT_FOUND = "NOT_FOUND"
    TAKEN = "TAKEN"
    WEAK_PASSWORD = "WEAK_PASSWORD"  # noqa: S105 (an error code, not a password)
    MISMATCH = "MISMATCH"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    GRANT_EXCEEDS_OWN = "GRANT_EXCEEDS_OWN"
    NOT_ALLOWED = "NOT_ALLOWED"
    HAS_CHILDREN = "HAS_CHILDREN"
    LIMIT_REACHED = "LIMIT_REACHED"
    DUPLICATE_MAC = "DUPLICATE_MAC"
    UNSUPPORTED_CHARACTER = "UNSUPPORTED_CHARACTER"  # the phone's files cannot carry it
    THROTTLED = "THROTTLED"


@dataclass(frozen=True, slots=True)
class UserError:
    """One problem with one input field (`field` is None for the call as a whole)."""

    field: str | None
    code: ErrorCode
    message: str


@dataclass(slots=True)
class Problems:
    """Collects every problem of one call so they are reported together."""

    errors: list[UserError] = field(default_factory=list)

    def add(self, field_name: str | None, code: ErrorCode, message: str) -> None:
        """Record one problem."""
        self.errors.append(UserError(field_name, code, message))

    def __bool__(self) -> bool:
        return bool(self.errors)


class ExpectedError(Exception):
    """A refusal of a query's arguments or of access; shown to the client, never masked."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code
        # graphql-core copies `extensions` of the original exception into the response.
        self.extensions = {"code": code}


class InvalidArgument(ExpectedError):
    """A query argument out of its allowed range or form."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "BAD_USER_INPUT")
