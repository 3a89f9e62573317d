"""What phones need to know about a time zone: its offset and its summer-time rule.

Phones do not know IANA names; each wants the offset and the daylight-saving rule
in its own form. The rule comes from the POSIX TZ string at the end of the zone's
TZif file (``CET-1CEST,M3.5.0,M10.5.0/3``), which states the current rule without
depending on today's date, so rendered files stay byte-stable.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path

__all__ = ["DstRule", "ZoneFacts", "zone_facts"]

_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*$")
_OFFSET = r"[+-]?\d{1,3}(?::\d{1,2}){0,2}"
_RULE = rf"M\d{{1,2}}\.\d\.\d(?:/{_OFFSET})?"
_POSIX = re.compile(
    rf"^(?P<std><[^>]+>|[A-Za-z]+)(?P<std_offset>{_OFFSET})"
    rf"(?:(?P<dst><[^>]+>|[A-Za-z]+)(?P<dst_offset>{_OFFSET})?"
    rf"(?:,(?P<start>{_RULE}),(?P<end>{_RULE}))?)?$"
)


@dataclass(frozen=True)
class DstRule:
    """A POSIX ``Mm.w.d/time`` transition: weekday ``d`` (0 = Sunday) of week ``w``
    (5 = last) of month ``m``, at ``seconds`` after local midnight."""

    month: int
    week: int
    weekday: int
    seconds: int


@dataclass(frozen=True)
class ZoneFacts:
    """Offsets in seconds east of UTC; ``dst_offset`` is None where there is no summer time."""

    name: str
    posix: str
    std_abbr: str
    std_offset: int
    dst_abbr: str | None = None
    dst_offset: int | None = None
    start: DstRule | None = None
    end: DstRule | None = None


@lru_cache(maxsize=512)
def zone_facts(name: str) -> ZoneFacts:
    """Facts about an IANA zone such as ``Europe/Paris``; ValueError for an unknown zone."""
    if not _ZONE_NAME.match(name):
        raise ValueError(f"not a time zone name: {name!r}")
    try:
        zone = zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone: {name!r}") from error
    posix = _posix_footer(name)
    facts = _parse_posix(name, posix) if posix else None
    return facts if facts is not None else _facts_from_offsets(name, zone)


def _posix_footer(name: str) -> str | None:
    """The TZ string a version 2+ TZif file ends with, preferring the pinned tzdata package."""
    for data in _tzif_candidates(name):
        lines = data.rstrip(b"\n").rsplit(b"\n", 1)
        if data.startswith(b"TZif") and len(lines) == 2:
            return lines[1].decode("ascii", "replace")
    return None


def _tzif_candidates(name: str) -> list[bytes]:
    found: list[bytes] = []
    try:
        node = resources.files("tzdata").joinpath("zoneinfo", *name.split("/"))
        found.append(node.read_bytes())
    except (ModuleNotFoundError, FileNotFoundError, IsADirectoryError, NotADirectoryError):
        pass
    for folder in zoneinfo.TZPATH:
        path = Path(folder, *name.split("/"))
        if path.is_file():
            found.append(path.read_bytes())
    return found


def _parse_posix(name: str, posix: str) -> ZoneFacts | None:
    found = _POSIX.match(posix)
    if found is None:
        return None
    std_offset = -_seconds(found["std_offset"])
    std_abbr = found["std"].strip("<>")
    if found["dst"] is None:
        return ZoneFacts(name, posix, std_abbr, std_offset)
    dst_offset = -_seconds(found["dst_offset"]) if found["dst_offset"] else std_offset + 3600
    if found["start"] is None:
        return ZoneFacts(name, posix, std_abbr, std_offset)
    start, end = _rule(found["start"]), _rule(found["end"])
    dst_abbr = found["dst"].strip("<>")
    if dst_offset < std_offset:
        # Negative summer time (Europe/Dublin): phones only know the usual way
        # round, so call the lower offset standard and swap the transitions.
        return ZoneFacts(name, posix, dst_abbr, dst_offset, std_abbr, std_offset, end, start)
    return ZoneFacts(name, posix, std_abbr, std_offset, dst_abbr, dst_offset, start, end)


def _rule(text: str) -> DstRule:
    date, _, time = text[1:].partition("/")
    month, week, weekday = (int(part) for part in date.split("."))
    return DstRule(month, week, weekday, _seconds(time) if time else 7200)


def _seconds(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    parts = [int(part) for part in text.lstrip("+-").split(":")] + [0, 0]
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


def _facts_from_offsets(name: str, zone: zoneinfo.ZoneInfo) -> ZoneFacts:
    """Without a usable TZ string: the lower of a winter and a summer offset, no rule."""
    instants = (datetime(2024, 1, 15, tzinfo=UTC), datetime(2024, 7, 15, tzinfo=UTC))
    offsets = []
    for instant in instants:
        delta = instant.astimezone(zone).utcoffset()
        offsets.append(int(delta.total_seconds()) if delta is not None else 0)
    std_offset = min(offsets)
    abbr = datetime(2024, 1, 15, tzinfo=UTC).astimezone(zone).tzname() or "UTC"
    return ZoneFacts(name, "", abbr, std_offset)
