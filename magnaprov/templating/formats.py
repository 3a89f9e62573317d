"""The configuration file formats phones read, and how each keeps a value on its line.

A value printed into a file (``{{ line.display_name }}``) must stay inside its own
key, line or tag whatever it contains. Each format names the escaper the sandbox
applies to every printed value, so no template has to remember to call a filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum

__all__ = [
    "PANASONIC_FIRST_LINE",
    "YEALINK_FIRST_LINE",
    "FileFormat",
    "escape_line_value",
    "escape_quoted_value",
    "escape_xml",
    "escaper_for",
]

YEALINK_FIRST_LINE = "#!version:1.0.0.1"
PANASONIC_FIRST_LINE = "# Panasonic SIP Phone Standard Format File # DO NOT CHANGE THIS LINE!"


class FileFormat(StrEnum):
    """Syntax of a configuration file, as named in the catalog data files."""

    YEALINK = "yealink"  # key = value, "#!version:1.0.0.1" first
    XML = "xml"  # Polycom, Snom, Grandstream, Fanvil, Cisco SPA, Cisco XML
    CISCO_CNF = "cisco_cnf"  # name: "value"
    AASTRA = "aastra"  # name: value
    PANASONIC = "panasonic"  # KEY="value", CRLF, fixed first line


# Everything that some parser could treat as the end of a line, plus the other
# C0/C1 controls that have no business in a configuration value.
_LINE_BREAKERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Characters XML 1.0 forbids outright (besides the controls above).
_XML_FORBIDDEN = re.compile("[\ud800-\udfff\ufffe\uffff]")
_XML_ENTITIES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
)


def escape_line_value(text: str) -> str:
    """For ``key = value`` and ``name: value`` lines: a value can never start a new line."""
    return _LINE_BREAKERS.sub(" ", text)


def escape_quoted_value(text: str) -> str:
    """For ``KEY="value"`` and ``name: "value"``: no line break and no closing quote.

    Neither Panasonic nor the Cisco SIP firmware documents an escape for ``"``
    inside a quoted value, so the quote becomes an apostrophe. Passwords and names
    holding one never get here: they are refused on save (see ``exact_values``).
    """
    return escape_line_value(text).replace('"', "'")


def escape_xml(text: str) -> str:
    """Safe in element text and in single- or double-quoted attributes."""
    cleaned = _XML_FORBIDDEN.sub("", _LINE_BREAKERS.sub(" ", text))
    return cleaned.translate(_XML_ENTITIES)


_ESCAPERS: dict[FileFormat, Callable[[str], str]] = {
    FileFormat.YEALINK: escape_line_value,
    FileFormat.XML: escape_xml,
    FileFormat.CISCO_CNF: escape_quoted_value,
    # Aastra values are bare, but a value opening with a quote reads as a quoted string.
    FileFormat.AASTRA: escape_quoted_value,
    FileFormat.PANASONIC: escape_quoted_value,
}


def escaper_for(file_format: FileFormat) -> Callable[[str], str]:
    """The function the sandbox applies to every value printed into a file of this format."""
    return _ESCAPERS[file_format]
