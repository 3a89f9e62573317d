"""A phone reads back exactly the password and display name the server stores, or the value is
refused on save: every vendor's Server default files, decoded as the phone reads each format."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ElementTree

import pytest

from magnaprov.templating import (
    Equipment,
    FileFormat,
    load_catalog,
    render_device_files,
    sample_render_input,
    value_problem,
)

EQUIPMENT = list(load_catalog().equipment())
PRINTABLE = "".join(chr(code) for code in range(0x20, 0x7F))
# Letters at both ends: a trimmed format keeps them; every other character sits inside.
PASSWORD = "A" + PRINTABLE + "éß€漢字Z"
DISPLAY_NAME = "Zoë " + PRINTABLE + " Ōtsuka 李"
# The vendors whose per-device formats have no way to carry a double quote inside a value.
QUOTE_REFUSED_MAKERS = {"aastra", "panasonic"}
QUOTE_REFUSED_FIRMWARE = {("cisco", "7.x"), ("cisco", "8.x")}


def _id(equipment: Equipment) -> str:
    return "/".join(equipment.keys)


def _refused(equipment: Equipment) -> set[str]:
    """The printable characters the vendor's formats cannot carry, as its files say."""
    formats = {spec.format for spec in equipment.firmware.files if spec.per_device}
    quoted = {FileFormat.CISCO_CNF, FileFormat.PANASONIC, FileFormat.AASTRA}
    return {'"'} if formats & quoted else set()


def _values(file_format: FileFormat, text: str) -> set[str]:
    """Every value of a file, read the way the vendor documents its syntax."""
    if file_format is FileFormat.XML:
        root = ElementTree.fromstring(text)  # noqa: S314 - our own output
        return {
            value
            for element in root.iter()
            for value in [element.text or "", *element.attrib.values()]
        }
    if file_format is FileFormat.PANASONIC:
        return {m.group(1) for m in re.finditer(r'^[A-Z0-9_]+="(.*)"\r$', text, re.MULTILINE)}
    found = set()
    separator = "=" if file_format is FileFormat.YEALINK else ":"
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("#", ";")):
            continue
        value = line.partition(separator)[2].strip()
        if file_format is not FileFormat.YEALINK and len(value) > 1 and value[0] == '"':
            assert value.endswith('"') and value.count('"') == 2, line
            value = value[1:-1]
        found.add(value)
    return found


@pytest.mark.parametrize("equipment", EQUIPMENT, ids=_id)
def test_every_vendor_carries_the_password_and_name_exactly_or_refuses_them(
    equipment: Equipment,
) -> None:
    refused = _refused(equipment)
    maker, firmware = equipment.manufacturer.key, equipment.firmware.key
    expected = maker in QUOTE_REFUSED_MAKERS or (maker, firmware) in QUOTE_REFUSED_FIRMWARE
    assert bool(refused) is expected
    for value, role in ((PASSWORD, "password"), (DISPLAY_NAME, "display name")):
        problem = value_problem(equipment, value, role)
        assert (problem is not None) is bool(refused), problem
        if problem is not None:
            assert 'the character " (U+0022)' in problem and equipment.manufacturer.name in problem
    password = "".join(c for c in PASSWORD if c not in refused)
    name = "".join(c for c in DISPLAY_NAME if c not in refused)
    assert value_problem(equipment, password, "password") is None
    assert value_problem(equipment, name, "display name") is None
    data = sample_render_input(equipment)
    data = dataclasses.replace(
        data, line=dataclasses.replace(data.line, password=password, display_name=name)
    )
    files = [f for f in render_device_files(equipment, None, data) if f.per_device]
    read: set[str] = set()
    for file in files:
        spec = equipment.firmware.file(file.pattern)
        assert spec is not None
        read |= _values(spec.format, file.content.decode("utf-8"))
    if equipment.manufacturer.key == "yealink" and all(f.pattern.endswith(".boot") for f in files):
        return  # a boot file only points at the configuration files
    assert password in read
    assert name in read


@pytest.mark.parametrize(
    ("value", "role", "expected"),
    [
        ("ab\tcd", "password", "the control character U+0009"),
        ("ab\u2028cd", "display name", "the control character U+2028"),
        (" Alice", "display name", "a space at its start or end"),
        ("ad:min", "administrator user", "the character : (U+003A)"),
    ],
)
def test_line_formats_refuse_what_a_phone_would_cut_or_trim(value, role, expected) -> None:
    yealink = next(e for e in EQUIPMENT if e.manufacturer.key == "yealink")
    problem = value_problem(yealink, value, role)
    assert problem is not None and expected in problem
