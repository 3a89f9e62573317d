"""Checks shared by every free-text input: names, descriptions, notes."""

from __future__ import annotations

from magnaprov.resolvers.errors import ErrorCode, Problems

__all__ = ["check_name", "check_text"]


def has_control_characters(value: str) -> bool:
    """Whether `value` holds a line break or another control character."""
    return any(ord(character) < 32 for character in value)


def check_name(name: str, problems: Problems, *, limit: int, field_name: str = "name") -> str:
    """A required one-line name of at most `limit` characters, stripped."""
    name = name.strip()
    if not name:
        problems.add(field_name, ErrorCode.REQUIRED, "Name is required.")
    elif len(name) > limit:
        problems.add(field_name, ErrorCode.TOO_LONG, f"Name must be at most {limit} characters.")
    elif has_control_characters(name):
        problems.add(
            field_name,
            ErrorCode.INVALID,
            "Name must not contain line breaks or control characters.",
        )
    return name


def check_text(
    field_name: str, value: str, limit: int, problems: Problems, *, single_line: bool
) -> None:
    """An optional text: bounded, and on one line where a phone file will carry it."""
    if len(value) > limit:
        problems.add(field_name, ErrorCode.TOO_LONG, f"At most {limit} characters.")
    elif single_line and has_control_characters(value):
        problems.add(
            field_name, ErrorCode.INVALID, "Must not contain line breaks or control characters."
        )
