"""The filters templates may use: Jinja's own, bounded where they could blow up.

Filters are called directly by compiled templates (not through the sandbox's
``call`` hook), so each one is wrapped here: text filters refuse lists (whose
``repr`` could be huge), filters that pad, repeat or insert check the size of
their result before making it, and every result is counted against the render.
HTML-only filters and ``safe`` (which would let a value skip escaping) are gone,
as is ``random`` (rendered files must be byte-stable).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from jinja2 import filters as jinja_filters
from jinja2 import pass_environment
from jinja2.environment import Environment
from markupsafe import Markup

from .bounded_values import (
    charge_value,
    join_texts,
    percent_format,
    require_scalar,
    require_text,
    require_text_size,
)
from .limits import MAX_ITEMS, MAX_RANGE, RenderLimitExceeded

__all__ = ["build_filters"]

Filter = Callable[..., Any]

_REMOVED = frozenset(
    {"forceescape", "pprint", "random", "safe", "striptags", "tojson", "urlize", "xmlattr"}
)
# Jinja filters that turn their input into text; a list input would become its repr.
_TEXT_INPUT = frozenset(
    {"capitalize", "lower", "title", "trim", "upper", "urlencode", "wordcount", "filesizeformat"}
)


def build_filters(escape: Callable[[str], str]) -> dict[str, Filter]:
    """The filter table of an environment whose format escapes values with ``escape``."""
    table: dict[str, Filter] = {}
    for name, function in jinja_filters.FILTERS.items():
        if name in _REMOVED:
            continue
        table[name] = _text_input(function) if name in _TEXT_INPUT else function
    table.update(_bounded_filters(escape))
    return {name: _counted(function) for name, function in table.items()}


def _bounded_filters(escape: Callable[[str], str]) -> dict[str, Filter]:
    def escape_filter(value: Any) -> Markup:
        if isinstance(value, Markup):
            return value
        return Markup(escape(require_text(value)))  # noqa: S704 - escaped for the format

    @pass_environment
    def join_filter(
        environment: Environment, value: Any, d: Any = "", attribute: str | int | None = None
    ) -> str:
        if attribute is not None:
            getter = jinja_filters.make_attrgetter(environment, attribute)
            value = map(getter, value)
        return join_texts(value, d, escape)

    return {
        "center": _center,
        "e": escape_filter,
        "escape": escape_filter,
        "format": _format,
        "indent": _indent,
        "join": join_filter,
        "replace": _replace,
        "string": _string,
        "sum": _sum,
        "truncate": _truncate,
        "wordwrap": _wordwrap,
        "batch": _batch,
        "slice": _slice,
    }


def _counted(function: Filter) -> Filter:
    # functools.wraps copies jinja_pass_arg, so pass_environment & co. still work.
    @functools.wraps(function)
    def counted(*args: Any, **kwargs: Any) -> Any:
        return charge_value(function(*args, **kwargs))

    return counted


def _text_input(function: Filter) -> Filter:
    @functools.wraps(function)
    def checked(value: Any, *args: Any, **kwargs: Any) -> Any:
        return function(require_scalar(value), *args, **kwargs)

    return checked


def _plain(value: Any) -> str:
    return str(require_text(value))


def _width(value: Any) -> int:
    if not isinstance(value, int):
        raise TypeError("width must be an integer")
    require_text_size(value)
    return value


def _center(value: Any, width: int = 80) -> str:
    return _plain(value).center(_width(width))


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    if args and kwargs:
        raise TypeError("format takes positional or keyword arguments, not both")
    return percent_format(value, kwargs or args)


def _string(value: Any) -> str:
    return require_text(value)


def _indent(value: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    text = _plain(value)
    prefix = " " * _width(width) if isinstance(width, int) else _plain(width)
    require_text_size(len(text) + len(prefix) * (text.count("\n") + 1))
    return jinja_filters.do_indent(text, width, first, blank)


def _replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old_text, new_text = _plain(value), _plain(old), _plain(new)
    hits = text.count(old_text) if old_text else len(text) + 1
    if count is not None:
        hits = min(hits, max(count, 0))
    require_text_size(len(text) + hits * (len(new_text) - len(old_text)))
    return text.replace(old_text, new_text, -1 if count is None else count)


@pass_environment
def _truncate(
    environment: Environment,
    value: Any,
    length: int = 255,
    killwords: bool = False,
    end: Any = "...",
    leeway: int | None = None,
) -> str:
    return jinja_filters.do_truncate(
        environment, _plain(value), length, killwords, _plain(end), leeway
    )


@pass_environment
def _wordwrap(
    environment: Environment,
    value: Any,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: Any = None,
    break_on_hyphens: bool = True,
) -> str:
    text = _plain(value)
    separator = environment.newline_sequence if wrapstring is None else _plain(wrapstring)
    if not isinstance(width, int) or width < 1:
        raise TypeError("width must be a positive integer")
    lines = len(text) // width + text.count("\n") + 1
    if lines > MAX_RANGE:
        raise RenderLimitExceeded(f"wordwrap would make more than {MAX_RANGE} lines")
    require_text_size(len(text) + lines * len(separator))
    return jinja_filters.do_wordwrap(
        environment, text, width, break_long_words, separator, break_on_hyphens
    )


def _sum(iterable: Any, attribute: str | None = None, start: Any = 0) -> Any:
    if attribute is not None:
        raise TypeError("sum(attribute=...) is not available; map the attribute first")
    numbers = [start, *iterable]
    if not all(isinstance(number, (int, float)) for number in numbers):
        raise TypeError("sum adds numbers only")
    return sum(numbers)


def _batch(value: Any, linecount: int, fill_with: Any = None) -> Any:
    if not isinstance(linecount, int) or not 1 <= linecount <= MAX_ITEMS:
        raise RenderLimitExceeded(f"batch size must be between 1 and {MAX_ITEMS}")
    return list(jinja_filters.do_batch(value, linecount, fill_with))


def _slice(value: Any, slices: int, fill_with: Any = None) -> Any:
    if not isinstance(slices, int) or not 1 <= slices <= MAX_RANGE:
        raise RenderLimitExceeded(f"slice count must be between 1 and {MAX_RANGE}")
    return list(jinja_filters.sync_do_slice(value, slices, fill_with))
