"""Which values each file format carries exactly, so a phone never holds another value.

A value the format cannot carry would reach the phone changed by its escaper (a `"` made an
apostrophe in a Cisco `.cnf`), and a password changed that way no longer matches the one the
PBX checks. Such values are refused on save instead, naming the character and the vendor;
every value accepted here reads back from the file exactly as stored.

What each format carries (values printed into the per-device files; common files hold none):

* every format: no control character (C0, C1, U+2028, U+2029), which would end the line;
* XML: anything else but surrogates and U+FFFE/U+FFFF (entities decode to the value);
* `key = value` (Yealink) and `name: value` (Aastra): no space at either end, which the
  phone trims; Aastra reads a value opening with `"` as a quoted string, so no `"` at all;
* `name: "value"` (Cisco `.cnf`) and `KEY="value"` (Panasonic): no `"`, since neither
  documents an escape for it inside the quotes;
* Yealink's `user_password = <admin user>:<password>`: no `:` in the administrator user.
"""

from __future__ import annotations

import re
from typing import Literal

from .catalog import Equipment
from .formats import FileFormat

__all__ = ["ValueRole", "refused_in", "value_problem"]

ValueRole = Literal["password", "display name", "administrator user", "administrator password"]

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_XML_FORBIDDEN = re.compile("[\ud800-\udfff\ufffe\uffff]")
_QUOTE_REFUSED = frozenset({FileFormat.CISCO_CNF, FileFormat.PANASONIC, FileFormat.AASTRA})
_TRIMMED = frozenset({FileFormat.YEALINK, FileFormat.AASTRA})
_FORMAT_NAMES = {
    FileFormat.YEALINK: "key = value",
    FileFormat.XML: "XML",
    FileFormat.CISCO_CNF: 'name: "value"',
    FileFormat.AASTRA: "name: value",
    FileFormat.PANASONIC: 'KEY="value"',
}


def refused_in(file_format: FileFormat, value: str, role: ValueRole) -> str | None:
    """What of `value` a file of `file_format` cannot carry exactly, described; None if all."""
    for pattern in (_CONTROLS, _XML_FORBIDDEN):
        found = pattern.search(value)
        if found:
            return _character(found.group())
    if file_format in _QUOTE_REFUSED and '"' in value:
        return _character('"')
    if file_format in _TRIMMED and value != value.strip():
        return "a space at its start or end"
    if file_format is FileFormat.YEALINK and role == "administrator user" and ":" in value:
        return _character(":")
    return None


def value_problem(equipment: Equipment, value: str, role: ValueRole) -> str | None:
    """Why `value` cannot reach this equipment's files exactly as stored, or None."""
    formats = dict.fromkeys(spec.format for spec in equipment.firmware.files if spec.per_device)
    for file_format in formats:
        refused = refused_in(file_format, value, role)
        if refused is not None:
            maker, model, firmware = equipment
            return (
                f"The {role} contains {refused}, which {maker.name} {model.name} "
                f"({firmware.name}) files ({_FORMAT_NAMES[file_format]}) cannot carry "
                "exactly: the phone would hold another value. Choose one without it."
            )
    return None


def _character(char: str) -> str:
    if char.isprintable():
        return f"the character {char} (U+{ord(char):04X})"
    return f"the control character U+{ord(char):04X}"
