"""Which attributes of plain values a template may use, and how text methods run.

Jinja's sandbox already hides ``_private`` and interpreter internals. On top of
that, the builtin types of the context offer only an allowlist: reading methods of
text, dicts and lists. Numbers, types, functions and modules offer nothing — that
closes ``int.to_bytes(10**9)``, ``str.format`` (which can reach attributes by
name) and ``dict.fromkeys``-style surprises in one rule.
"""

from __future__ import annotations

import types
from typing import Any

from .bounded_values import charge_value, join_texts, require_text, require_text_size

__all__ = ["attribute_allowed", "call_text_method"]

TEXT_METHODS = frozenset(
    {
        "capitalize",
        "casefold",
        "center",
        "count",
        "endswith",
        "find",
        "index",
        "isalnum",
        "isalpha",
        "isdecimal",
        "isdigit",
        "islower",
        "isnumeric",
        "isspace",
        "isupper",
        "join",
        "ljust",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "replace",
        "rfind",
        "rindex",
        "rjust",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "swapcase",
        "title",
        "upper",
        "zfill",
    }
)
DICT_METHODS = frozenset({"get", "items", "keys", "values"})
SEQUENCE_METHODS = frozenset({"count", "index"})

_OPAQUE = (
    int,
    float,
    complex,
    bytes,
    bytearray,
    set,
    frozenset,
    range,
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.GeneratorType,
)
_PADDING = frozenset({"center", "ljust", "rjust", "zfill"})


def attribute_allowed(obj: Any, attribute: str) -> bool:
    """May a template read ``obj.attribute``? (Private names are refused before this.)"""
    if isinstance(obj, str):
        return attribute in TEXT_METHODS
    if isinstance(obj, dict):
        return attribute in DICT_METHODS
    if isinstance(obj, (list, tuple)):
        return attribute in SEQUENCE_METHODS
    # Jinja's own objects (loop, cycler, joiner, namespace, self, macros) keep
    # the sandbox's default rules.
    return not isinstance(obj, _OPAQUE)


def call_text_method(owner: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run an allowlisted ``str`` method with its result size checked first.

    Runs on the plain text even when ``owner`` is rendered markup: the result is
    ordinary data and will be escaped when written.
    """
    text = str(owner)
    if name in _PADDING:
        require_text_size(_int_argument(args, kwargs, "width"))
    elif name == "replace":
        require_text_size(_replaced_size(text, args, kwargs))
    elif name == "join":
        # Plain text items only, so no Markup can make the result count as rendered.
        items = [str(require_text(item)) for item in _first(args, kwargs, "iterable")]
        return join_texts(items, text, str)
    return charge_value(getattr(str, name)(text, *args, **kwargs))


def _first(args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> Any:
    if args:
        return args[0]
    if name in kwargs:
        return kwargs[name]
    raise TypeError(f"missing argument {name!r}")


def _int_argument(args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> int:
    value = _first(args, kwargs, name)
    if not isinstance(value, int):
        raise TypeError(f"{name} must be an integer")
    return value


def _replaced_size(text: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    old = str(require_text(args[0] if args else kwargs.get("old", "")))
    new = str(require_text(args[1] if len(args) > 1 else kwargs.get("new", "")))
    count = args[2] if len(args) > 2 else kwargs.get("count", -1)
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) - len(old))
