"""Checks that a rendered file is what its phone can read.

Used on save (an account template whose sample output is malformed is refused)
and by the tests of the Server default. Each problem names the output line.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass

from .catalog import FileSpec
from .formats import PANASONIC_FIRST_LINE, YEALINK_FIRST_LINE, FileFormat

__all__ = ["OutputProblem", "check_output"]

_YEALINK_LINE = re.compile(
    r"^(?:#.*|[A-Za-z0-9_.\-]+\s*=.*|include:config\s+(?:\"[^\"]*\"|<[^>]*>)|\[[^\]]*\])?$"
)
_CNF_LINE = re.compile(r'^(?:[#;].*|[A-Za-z0-9_]+\s*:\s*(?:"[^"]*"|[^"]*))?$')
_AASTRA_LINE = re.compile(r"^(?:#.*|[A-Za-z0-9][A-Za-z0-9 _.\-]*:.*)?$")
_PANASONIC_LINE = re.compile(r'^(?:#.*|[A-Z0-9_]+="[^"]*")?$')
_PANASONIC_MAX_LINE = 537
_PANASONIC_MAX_FILE = 120 * 1024


@dataclass(frozen=True)
class OutputProblem:
    line: int | None
    message: str


def check_output(spec: FileSpec, content: bytes) -> list[OutputProblem]:
    """Problems of a rendered file for the format its catalog entry names."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return [OutputProblem(None, "the file is not UTF-8")]
    if spec.format is FileFormat.XML:
        return _check_xml(text, spec.xml_root)
    if spec.format is FileFormat.PANASONIC:
        return _check_panasonic(text)
    checker = {
        FileFormat.YEALINK: _check_yealink,
        FileFormat.CISCO_CNF: _lines_check(_CNF_LINE, "is not `name: value`"),
        FileFormat.AASTRA: _lines_check(_AASTRA_LINE, "is not `name: value`"),
    }[spec.format]
    return checker(text)


def _check_xml(text: str, root: str | None) -> list[OutputProblem]:
    # No phone needs a DTD, and refusing one keeps entity tricks out of the parser.
    if re.search(r"<!(?:DOCTYPE|ENTITY)", text, re.IGNORECASE):
        return [OutputProblem(None, "a DOCTYPE or ENTITY declaration is not allowed")]
    try:
        # Parses the server's own output, with any DTD already refused above.
        element = ElementTree.fromstring(text)  # noqa: S314
    except ElementTree.ParseError as error:
        line = error.position[0] if error.position else None
        return [OutputProblem(line, f"not well-formed XML: {error}")]
    if root is not None and element.tag != root:
        return [OutputProblem(1, f"the root element is <{element.tag}>, the phone wants <{root}>")]
    return []


def _check_yealink(text: str) -> list[OutputProblem]:
    lines = text.split("\n")
    if lines[0].rstrip("\r") != YEALINK_FIRST_LINE:
        return [OutputProblem(1, f"the first line must be {YEALINK_FIRST_LINE}")]
    return _lines_check(_YEALINK_LINE, "is not `key = value`")(text)


def _lines_check(pattern: re.Pattern[str], what: str) -> Callable[[str], list[OutputProblem]]:
    def check(text: str) -> list[OutputProblem]:
        return [
            OutputProblem(number, f"line {what}")
            for number, line in enumerate(text.split("\n"), start=1)
            if not pattern.match(line.rstrip("\r").strip())
        ]

    return check


def _check_panasonic(text: str) -> list[OutputProblem]:
    problems: list[OutputProblem] = []
    if re.search(r"(?<!\r)\n|\r(?!\n)", text):
        problems.append(OutputProblem(None, "every line must end with CR LF"))
    if not text.endswith("\r\n\r\n"):
        problems.append(OutputProblem(None, "the file must end with an empty line"))
    if len(text.encode("utf-8")) > _PANASONIC_MAX_FILE:
        problems.append(OutputProblem(None, f"the file is over {_PANASONIC_MAX_FILE} bytes"))
    lines = text.split("\r\n")
    if lines[0] != PANASONIC_FIRST_LINE:
        problems.append(OutputProblem(1, f"the first line must be {PANASONIC_FIRST_LINE}"))
    for number, line in enumerate(lines[1:], start=2):
        if not _PANASONIC_LINE.match(line):
            problems.append(OutputProblem(number, 'line is not KEY="value"'))
        elif len(line.encode("utf-8")) > _PANASONIC_MAX_LINE:
            problems.append(OutputProblem(number, f"line over {_PANASONIC_MAX_LINE} bytes"))
    return problems
