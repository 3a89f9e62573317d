"""Operations whose result could be far larger than their inputs, made bounded.

``"x" * 10**9``, ``2 ** 10**9``, ``"%9999999999s" % x``, a long ``~`` chain or a
``repr`` of a huge list each take one step but unbounded memory, so the sandbox
routes them here: the size of the result is computed first and refused when it is
over the limits in ``limits.py``; what is made is counted against the render.

Values written into a file or joined into text must be text or numbers: printing
a list would print its ``repr``, which a template could make enormous.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import Undefined
from jinja2.exceptions import SecurityError
from markupsafe import Markup

from .limits import (
    MAX_INT_BITS,
    MAX_ITEMS,
    MAX_RANGE,
    MAX_VALUE_CHARS,
    RenderLimitExceeded,
    current_budget,
)

__all__ = [
    "add",
    "bounded_range",
    "charge_value",
    "check_percent_format",
    "concat",
    "guard_iteration",
    "join_texts",
    "multiply",
    "percent_format",
    "power",
    "require_scalar",
    "require_text",
    "require_text_size",
]

_SCALARS = (str, int, float, type(None))
_SIZED = (str, list, tuple, dict, set, frozenset)
# One %-conversion: optional (key), flags, width, precision, length, type.
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.)", re.S)
_MAX_FORMAT_WIDTH = 1000


def require_scalar(value: Any) -> Any:
    """Text, a number or None; anything else (a list, a macro…) is refused."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises its own, clearer error ("x is undefined")
    raise SecurityError(f"a {type(value).__name__} cannot be written as text; join or pick an item")


def require_text(value: Any) -> str:
    """The text of a scalar (a Markup stays a Markup)."""
    scalar = require_scalar(value)
    return scalar if isinstance(scalar, str) else str(scalar)


def require_text_size(size: int) -> None:
    if size > MAX_VALUE_CHARS:
        raise RenderLimitExceeded(f"a text of {size} characters is over {MAX_VALUE_CHARS}")


def charge_value(value: Any) -> Any:
    """Count a value an operation made; refuse one that is over the per-value limits."""
    if isinstance(value, _SIZED):
        size = len(value)
        if isinstance(value, str):
            require_text_size(size)
        elif size > MAX_ITEMS:
            raise RenderLimitExceeded(f"a collection of {size} items is over {MAX_ITEMS}")
        current_budget().allocate(size)
    return value


def _repeat(sequence: Any, times: int) -> Any:
    size = len(sequence) * max(times, 0)
    if isinstance(sequence, str):
        require_text_size(size)
    elif size > MAX_ITEMS:
        raise RenderLimitExceeded(f"repeating makes {size} items, over {MAX_ITEMS}")
    current_budget().allocate(size)
    return sequence * times


def _check_int_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise RenderLimitExceeded(f"a number of about {bits} bits is over {MAX_INT_BITS}")


def multiply(left: Any, right: Any) -> Any:
    sequences = (str, list, tuple)
    if isinstance(left, sequences) and isinstance(right, int):
        return _repeat(left, right)
    if isinstance(left, int) and isinstance(right, sequences):
        return _repeat(right, left)
    if isinstance(left, int) and isinstance(right, int):
        _check_int_bits(left.bit_length() + right.bit_length())
    return left * right


def power(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        _check_int_bits(right * left.bit_length())
    return left**right


def add(left: Any, right: Any, escape: Callable[[str], str]) -> Any:
    if isinstance(left, str) and isinstance(right, str):
        return concat((left, right), escape)
    if isinstance(left, (list, tuple)) and type(left) is type(right):
        if len(left) + len(right) > MAX_ITEMS:
            raise RenderLimitExceeded(f"a collection of over {MAX_ITEMS} items")
    return charge_value(left + right)


def concat(parts: Iterable[Any], escape: Callable[[str], str]) -> str:
    """``a ~ b ~ c``. Rendered template text (a Markup) is kept as is; plain values
    joined to it are escaped for the file's format, so a value cannot ride into
    the file unescaped by being glued to a block's output."""
    texts = [require_text(part) for part in parts]
    require_text_size(sum(len(text) for text in texts))
    if any(isinstance(text, Markup) for text in texts):
        # Every plain part is escaped for the format first, so the Markup is earned.
        escaped = "".join(t if isinstance(t, Markup) else escape(t) for t in texts)
        joined: str = Markup(escaped)  # noqa: S704
    else:
        joined = "".join(texts)
    return charge_value(joined)  # type: ignore[no-any-return]


def join_texts(items: Iterable[Any], separator: Any, escape: Callable[[str], str]) -> str:
    """``items|join(sep)``, with the same rules as :func:`concat`."""
    texts = [require_text(item) for item in items]
    if not texts:
        return ""
    sep = require_text(separator)
    require_text_size(sum(len(text) for text in texts) + len(sep) * (len(texts) - 1))
    parts: list[str] = []
    for index, text in enumerate(texts):
        if index:
            parts.append(sep)
        parts.append(text)
    return concat(parts, escape)


def check_percent_format(template: str) -> None:
    """Refuse ``%*d`` and widths or precisions that would pad a value to any size."""
    for width, precision, _kind in _PERCENT_SPEC.findall(template):
        for number in (width, precision):
            if number == "*":
                raise SecurityError("'*' widths are not allowed in % formats")
            if number and int(number) > _MAX_FORMAT_WIDTH:
                raise RenderLimitExceeded(f"a % format width over {_MAX_FORMAT_WIDTH}")


def percent_format(template: Any, arguments: Any) -> str:
    """``"%s-%02d" % (a, b)`` and the ``format`` filter, on plain text only."""
    text = str(require_text(template))
    check_percent_format(text)
    if isinstance(arguments, dict):
        checked: Any = {key: require_scalar(value) for key, value in arguments.items()}
    elif isinstance(arguments, tuple):
        checked = tuple(require_scalar(value) for value in arguments)
    else:
        checked = require_scalar(arguments)
    return charge_value(text % checked)  # type: ignore[no-any-return]


def bounded_range(*args: int) -> range:
    """``range()`` for templates, refused past :data:`MAX_RANGE` items."""
    numbers = range(*args)
    try:
        size = len(numbers)
    except OverflowError:
        size = MAX_RANGE + 1
    if size > MAX_RANGE:
        raise RenderLimitExceeded(f"range() of more than {MAX_RANGE} items")
    return numbers


def guard_iteration(iterable: Iterable[Any]) -> Iterator[Any]:
    """Wraps every ``{% for %}``: each iteration is a step of the render."""
    budget = current_budget()
    for item in iterable:
        budget.step()
        yield item
