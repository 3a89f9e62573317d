"""The ``time`` section of the render context: one zone, in every form phones use.

Templates pick the form their vendor wants (Yealink ``offset_hours``, Polycom
``offset_seconds``, Panasonic ``offset_minutes``, Aastra ``minutes_west``,
Cisco SPA ``gmt_label`` and ``spa_dst_rule``…) instead of computing it.
"""

from __future__ import annotations

from .time_zones import DstRule, ZoneFacts, zone_facts

__all__ = ["time_values"]

# Fixed English names: the calendar module follows the process locale, and the
# bytes of a rendered file must not.
_MONTHS = (
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")

# Used where a zone has no summer time, so templates can print a rule unconditionally.
_NO_RULE = DstRule(month=1, week=1, weekday=0, seconds=0)


def time_values(zone_name: str) -> dict[str, object]:
    """The ``time`` dict for an IANA zone name."""
    facts = zone_facts(zone_name)
    offset = facts.std_offset
    return {
        "zone": facts.name,
        "posix": facts.posix,
        "posix_full": _posix_full(facts),
        "abbr": facts.std_abbr if facts.std_abbr.isalpha() else _gmt_label(offset),
        "offset_seconds": offset,
        "offset_minutes": offset // 60,
        "minutes_west": -offset // 60,
        "offset_hours": _hours_label(offset),
        "gmt_label": _gmt_label(offset),
        "dst": _dst_values(facts),
        "spa_dst_rule": _spa_rule(facts),
        "snom_dst": _snom_rule(facts),
    }


def _has_rule(facts: ZoneFacts) -> bool:
    return facts.dst_offset is not None and facts.start is not None and facts.end is not None


def _save_seconds(facts: ZoneFacts) -> int:
    return (facts.dst_offset or facts.std_offset) - facts.std_offset if _has_rule(facts) else 0


def _dst_values(facts: ZoneFacts) -> dict[str, object]:
    enabled = _has_rule(facts)
    return {
        "enabled": enabled,
        "abbr": facts.dst_abbr if enabled and facts.dst_abbr else "",
        "save_minutes": _save_seconds(facts) // 60,
        "save_seconds": _save_seconds(facts),
        "start": _rule_values(facts.start if enabled and facts.start else _NO_RULE),
        "end": _rule_values(facts.end if enabled and facts.end else _NO_RULE),
    }


def _rule_values(rule: DstRule) -> dict[str, object]:
    # Phones cannot express POSIX times outside the day (Nuuk's "/-1", Santiago's
    # "/24"), so those are clamped into it.
    seconds = min(max(rule.seconds, 0), 24 * 3600 - 60)
    hour, minute = divmod(seconds // 60, 60)
    return {
        "month": rule.month,
        "month_name": _MONTHS[rule.month],
        "month_abbr": _MONTHS[rule.month][:3],
        "week": rule.week,
        "last": rule.week == 5,
        "first_day": 1 + 7 * (min(rule.week, 5) - 1),
        "weekday": rule.weekday,
        "weekday_iso": rule.weekday or 7,
        "weekday_name": _WEEKDAYS[rule.weekday % 7],
        "weekday_abbr": _WEEKDAYS[rule.weekday % 7][:3],
        "hour": hour,
        "minute": minute,
        "minutes": hour * 60 + minute,
        "time": f"{hour:02d}:{minute:02d}",
    }


def _hours_label(offset: int) -> str:
    """Yealink style: ``+1``, ``-5``, ``+5:30``, ``0``."""
    if offset == 0:
        return "0"
    sign = "+" if offset > 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"{sign}{hours}:{minutes:02d}" if minutes else f"{sign}{hours}"


def _gmt_label(offset: int) -> str:
    """Cisco SPA style: ``GMT+01:00``."""
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"GMT{sign}{hours:02d}:{minutes:02d}"


def _spa_rule(facts: ZoneFacts) -> str:
    """``start=3/-1/7/02:00;end=10/-1/7/03:00;save=1`` (day -1 = last; 7 = Sunday)."""
    if not _has_rule(facts) or facts.start is None or facts.end is None:
        return ""
    save_hours, save_minutes = divmod(_save_seconds(facts) // 60, 60)
    save = f"{save_hours}:{save_minutes:02d}" if save_minutes else str(save_hours)
    return f"start={_spa_point(facts.start)};end={_spa_point(facts.end)};save={save}"


def _spa_point(rule: DstRule) -> str:
    values = _rule_values(rule)
    day = -1 if values["last"] else values["first_day"]
    return f"{rule.month}/{day}/{values['weekday_iso']}/{values['time']}"


def _snom_rule(facts: ZoneFacts) -> str:
    """``3600 03.05.07 02:00:00 10.05.07 03:00:00``: saving, then month.week.weekday time."""
    if not _has_rule(facts) or facts.start is None or facts.end is None:
        return ""
    return f"{_save_seconds(facts)} {_snom_point(facts.start)} {_snom_point(facts.end)}"


def _snom_point(rule: DstRule) -> str:
    values = _rule_values(rule)
    return f"{rule.month:02d}.{rule.week:02d}.{values['weekday_iso']:02d} {values['time']}:00"


def _posix_full(facts: ZoneFacts) -> str:
    """The TZ string with every default spelled out (Grandstream's P64 form):
    ``CET-1CEST-2,M3.5.0/02:00:00,M10.5.0/03:00:00``."""
    text = f"{_posix_name(facts.std_abbr)}{_posix_offset(facts.std_offset)}"
    if not _has_rule(facts) or facts.start is None or facts.end is None:
        return text
    dst = f"{_posix_name(facts.dst_abbr or 'DST')}{_posix_offset(facts.dst_offset or 0)}"
    return f"{text}{dst},{_posix_point(facts.start)},{_posix_point(facts.end)}"


def _posix_name(abbr: str) -> str:
    return abbr if abbr.isalpha() else f"<{abbr}>"


def _posix_offset(offset: int) -> str:
    # POSIX counts hours west of UTC: UTC+1 is "-1".
    sign = "-" if offset > 0 else ""
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"{sign}{hours}:{minutes:02d}" if minutes else f"{sign}{hours}"


def _posix_point(rule: DstRule) -> str:
    values = _rule_values(rule)
    return f"M{rule.month}.{rule.week}.{rule.weekday}/{values['time']}:00"
