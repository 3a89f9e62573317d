"""Reading rendered files the way a phone would, independently of the package's checks."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable

from magnaprov.templating import Equipment, FileFormat, FileSpec

YEALINK_HEADER = "#!version:1.0.0.1"
PANASONIC_HEADER = "# Panasonic SIP Phone Standard Format File # DO NOT CHANGE THIS LINE!"

_YEALINK_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")
_CNF_KEY = re.compile(r"^[A-Za-z0-9_]+$")
_AASTRA_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]*$")
_PANASONIC_LINE = re.compile(r'^([A-Z0-9_]+)="([^"]*)"$')


def expected_root(equipment: Equipment, spec: FileSpec) -> str:
    """The root element each phone family reads, as the vendors document it."""
    maker = equipment.manufacturer.key
    if maker == "polycom":
        if spec.pattern in {"000000000000.cfg", "{mac}.cfg"}:  # the master, common or per-MAC
            return "APPLICATION"
        return "polycomConfig" if equipment.firmware.key == "UCS" else "config"
    if maker == "cisco":
        return {"dialplan.xml": "DIALTEMPLATE", "syncinfo.xml": "SYNCINFO"}.get(
            spec.pattern, "flat-profile"
        )
    return {
        "linksys": "flat-profile",
        "snom": "settings",
        "grandstream": "gs_provision",
        "fanvil": "sysConf",
    }[maker]


def entries(file_format: FileFormat, content: bytes) -> list[tuple[str, str]]:
    """The (key, value) pairs of a file, in order; asserts each line has its format's shape."""
    text = content.decode("utf-8")
    if file_format is FileFormat.XML:
        return _xml_entries(text)
    if file_format is FileFormat.PANASONIC:
        return _panasonic_entries(content)
    readers = {
        FileFormat.YEALINK: _yealink_entry,
        FileFormat.CISCO_CNF: _colon_entry(_CNF_KEY),
        FileFormat.AASTRA: _colon_entry(_AASTRA_KEY),
    }
    lines = text.split("\n")
    if file_format is FileFormat.YEALINK:
        assert lines[0] == YEALINK_HEADER
        lines = lines[1:]
    found = []
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", ";")):
            found.append(readers[file_format](stripped))
    return found


def _yealink_entry(line: str) -> tuple[str, str]:
    if line.startswith("include:config "):
        target = line.removeprefix("include:config ").strip()
        assert target.startswith('"') and target.endswith('"') and target.count('"') == 2
        return "include:config", target[1:-1]
    key, equals, value = line.partition("=")
    assert equals, f"not key = value: {line!r}"
    assert _YEALINK_KEY.match(key.strip()), f"bad key in {line!r}"
    return key.strip(), value.strip()


def _colon_entry(key_shape: re.Pattern[str]) -> Callable[[str], tuple[str, str]]:
    def read(line: str) -> tuple[str, str]:
        key, colon, value = line.partition(":")
        assert colon, f"not name: value: {line!r}"
        assert key_shape.match(key.strip()), f"bad name in {line!r}"
        value = value.strip()
        if value.startswith('"'):
            assert value.endswith('"') and value.count('"') == 2, f"bad quoting: {line!r}"
        return key.strip(), value

    return read


def _panasonic_entries(content: bytes) -> list[tuple[str, str]]:
    assert content.endswith(b"\r\n\r\n"), "must end with an empty line"
    lines = content.decode("utf-8").split("\r\n")
    assert all("\n" not in line and "\r" not in line for line in lines), "CRLF only"
    assert lines[0] == PANASONIC_HEADER
    found = []
    for line in lines[1:]:
        if line and not line.startswith("#"):
            matched = _PANASONIC_LINE.match(line)
            assert matched, f'not KEY="value": {line!r}'
            found.append((matched.group(1), matched.group(2)))
    return found


def xml_root(content: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(content)  # noqa: S314 - our own output


def _xml_entries(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []

    def walk(element: ElementTree.Element, path: str) -> None:
        here = f"{path}/{element.tag}"
        found.append((here, (element.text or "").strip()))
        for name, value in element.attrib.items():
            found.append((f"{here}@{name}", value))
        for index, child in enumerate(element):
            walk(child, f"{here}[{index}]")

    walk(ElementTree.fromstring(text), "")  # noqa: S314 - our own output
    return found
