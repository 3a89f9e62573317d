"""Rules for login names, account passwords and contact e-mail addresses."""

from __future__ import annotations

import re

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "email_problem",
    "fold_login",
    "login_problem",
    "password_problem",
    "phone_password_problem",
]

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{1,63}")
# Deliberately loose: one @, no spaces, a dot in the domain. Delivery is the real check.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,63}")


def fold_login(login: str) -> str:
    """The case-insensitive key a login is unique by."""
    return login.strip().casefold()


def login_problem(login: str) -> str | None:
    """Why `login` is not acceptable, or None."""
    if not _LOGIN.fullmatch(login):
        return (
            "Login must be 2-64 characters: letters, digits and . _ @ -, "
            "starting with a letter or digit."
        )
    return None


def password_problem(password: str, login: str | None = None) -> str | None:
    """Why `password` is too weak for an account, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Password must be at most {MAX_PASSWORD_LENGTH} characters long."
    if password.strip() != password:
        return "Password must not start or end with a space."
    if login and fold_login(login) in password.casefold():
        return "Password must not contain the login."
    if len(set(password)) < 5:
        return "Password must use at least 5 different characters."
    return None


MIN_PHONE_PASSWORD_LENGTH = 10
MAX_PHONE_PASSWORD_LENGTH = 64
_PHONE_PASSWORD_CHARACTERS = re.compile(r"[!-~]+")  # printable ASCII, no spaces


def phone_password_problem(password: str, forbidden: tuple[str, ...] = ()) -> str | None:
    """Why `password` is too weak for a SIP line, or None.

    SIP passwords are typed on phone keypads and guessed by registration scanners all day:
    long, mixed and free of the extension's own number.
    """
    rules = (
        f"Phone password must be {MIN_PHONE_PASSWORD_LENGTH}-{MAX_PHONE_PASSWORD_LENGTH} "
        "printable characters without spaces, with a lower-case letter, an upper-case letter "
        "and a digit, and must not contain the extension number or the login."
    )
    if not MIN_PHONE_PASSWORD_LENGTH <= len(password) <= MAX_PHONE_PASSWORD_LENGTH:
        return rules
    if not _PHONE_PASSWORD_CHARACTERS.fullmatch(password):
        return rules
    if not (
        re.search(r"[a-z]", password)
        and re.search(r"[A-Z]", password)
        and re.search(r"\d", password)
    ):
        return rules
    if any(word and word.casefold() in password.casefold() for word in forbidden):
        return rules
    return None


def email_problem(email: str) -> str | None:
    """Why `email` is not a plausible address, or None."""
    if len(email) > 320 or not _EMAIL.fullmatch(email):
        return "Email must be an address like name@example.com."
    return None
