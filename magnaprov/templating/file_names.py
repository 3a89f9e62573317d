"""MAC addresses and the file name patterns phones ask for.

A pattern is a file name with at most one MAC placeholder: ``{mac}`` stands for the
twelve hex digits in lower case, ``{MAC}`` for the same in upper case. Everything
else in a pattern is literal (``SIP{MAC}.cnf``, ``spa504G.cfg``, ``cfg{mac}.xml``).
Phones are sloppy about case, so matching ignores it everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "MAC_PLACEHOLDERS",
    "FileNameMatch",
    "expand_pattern",
    "mac_digits",
    "match_pattern",
    "normalize_mac",
    "pattern_has_mac",
]

MAC_PLACEHOLDERS = ("{mac}", "{MAC}")

_MAC_INPUT = re.compile(r"^[0-9A-Fa-f]{2}([:\-.]?)(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")
_HEX12 = "([0-9A-Fa-f]{12})"


@dataclass(frozen=True)
class FileNameMatch:
    """A requested name that fits a pattern; ``mac`` is normalized, or None for a common file."""

    pattern: str
    mac: str | None


def normalize_mac(value: str) -> str:
    """Return ``00:15:65:aa:bb:cc`` for any common spelling of a MAC address.

    Accepts colons, dashes, dots between pairs or no separators, in any case.
    Raises ValueError for anything else.
    """
    text = value.strip()
    if not _MAC_INPUT.match(text):
        raise ValueError(f"not a MAC address: {value!r}")
    digits = re.sub(r"[:\-.]", "", text).lower()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def mac_digits(mac: str) -> str:
    """The twelve lower-case hex digits of a MAC, without separators."""
    return normalize_mac(mac).replace(":", "")


def pattern_has_mac(pattern: str) -> bool:
    """True when the pattern names a per-device file (it carries a MAC placeholder)."""
    return any(token in pattern for token in MAC_PLACEHOLDERS)


def expand_pattern(pattern: str, mac: str) -> str:
    """The file name a phone with this MAC asks for."""
    digits = mac_digits(mac)
    return pattern.replace("{mac}", digits).replace("{MAC}", digits.upper())


def match_pattern(pattern: str, requested: str) -> FileNameMatch | None:
    """Match a requested file name against one pattern, ignoring case."""
    found = _pattern_regex(pattern).fullmatch(requested)
    if found is None:
        return None
    if not found.groups():
        return FileNameMatch(pattern, None)
    return FileNameMatch(pattern, normalize_mac(found.group(1)))


@lru_cache(maxsize=4096)
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    # Split on the placeholders so the literal parts are escaped exactly once.
    pieces = re.split(r"(\{mac\}|\{MAC\})", pattern)
    source = "".join(_HEX12 if piece in MAC_PLACEHOLDERS else re.escape(piece) for piece in pieces)
    return re.compile(source, re.IGNORECASE)
