"""The sandboxed Jinja2 environment provisioning templates run in.

One environment per file format. Each is an ``ImmutableSandboxedEnvironment``
with ``StrictUndefined``, narrowed further:

* every value written into a file passes ``finalize``, which escapes it for the
  format (XML entities, or no line breaks / no quotes for line formats) — the
  escaping is central, no template has to ask for it. Rendered template text
  (a block, ``super()``, a macro's output) is marked as Markup by Jinja's
  autoescape machinery and is written as is; autoescape is on only for that
  marking, its HTML escaping never applies because ``finalize`` always runs first;
* attributes of plain values are allowlisted (``attribute_policy``);
* ``*``, ``**``, ``+``, ``%`` and ``~`` check the size of their result first;
* every call and loop iteration is a step of the render budget, which also
  carries the deadline (``limits``); ``range`` is capped at 10,000 items;
* the globals are ``range``, ``dict``, ``cycler``, ``joiner`` and ``namespace``
  (no ``lipsum``).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import BaseLoader, StrictUndefined
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace
from markupsafe import Markup

from .attribute_policy import attribute_allowed, call_text_method
from .bounded_values import (
    add,
    bounded_range,
    charge_value,
    concat,
    guard_iteration,
    multiply,
    percent_format,
    power,
    require_text,
)
from .code_generator import GuardedCodeGenerator
from .formats import FileFormat, escaper_for
from .limits import current_budget
from .safe_filters import build_filters

__all__ = ["ProvisioningSandbox"]


def _make_dict(**items: Any) -> dict[str, Any]:
    return items


class ProvisioningSandbox(ImmutableSandboxedEnvironment):
    """The environment for templates of one :class:`FileFormat`."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = GuardedCodeGenerator

    def __init__(self, file_format: FileFormat, loader: BaseLoader | None = None) -> None:
        self.file_format = file_format
        self.escape_value: Callable[[str], str] = escaper_for(file_format)
        super().__init__(
            loader=loader,
            undefined=StrictUndefined,
            autoescape=True,
            finalize=self._finalize,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
            cache_size=4096,
        )
        self.filters = build_filters(self.escape_value)
        self.globals.clear()
        self.globals.update(
            range=bounded_range,
            dict=_make_dict,
            cycler=Cycler,
            joiner=Joiner,
            namespace=Namespace,
        )

    def _finalize(self, value: Any) -> Markup:
        text: Markup
        if isinstance(value, Markup):  # rendered template text: a block, super(), a macro
            text = value
        else:
            # Escaped for the format here; Markup tells Jinja not to escape it again.
            text = Markup(self.escape_value(require_text(value)))  # noqa: S704
        current_budget().produce(len(text))
        return text

    # Hooks the generated code calls (see code_generator.py).

    def concat_values(self, parts: Iterable[Any]) -> str:
        return concat(parts, self.escape_value)

    def count_written(self, chars: int) -> None:
        current_budget().produce(chars)

    def guard_iteration(self, iterable: Iterable[Any]) -> Iterator[Any]:
        return guard_iteration(iterable)

    # Sandbox hooks.

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return super().is_safe_attribute(obj, attr, value) and attribute_allowed(obj, attr)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # str.format and format_map are not on the allowlist at all, so there is
        # nothing to wrap: reaching them yields an unsafe-attribute error.
        return None

    def getitem(self, obj: Any, argument: Any) -> Any:
        value = super().getitem(obj, argument)
        return charge_value(value) if isinstance(argument, slice) else value

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            return multiply(left, right)
        if operator == "**":
            return power(left, right)
        if operator == "+":
            return add(left, right, self.escape_value)
        if operator == "%" and isinstance(left, str):
            return percent_format(left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.step()
        owner = getattr(__obj, "__self__", None)
        if isinstance(__obj, (types.BuiltinMethodType, types.MethodType)) and isinstance(
            owner, str
        ):
            return call_text_method(owner, __obj.__name__, args, kwargs)
        if isinstance(__obj, LoopContext) and args:
            # loop(children) in a recursive loop: iterate the children under guard too.
            args = (guard_iteration(args[0]), *args[1:])
        if not __self.is_safe_callable(__obj):
            raise SecurityError(f"{type(__obj).__name__} is not safely callable")
        with budget.nested_call():
            result = __context.call(__obj, *args, **kwargs)
        return charge_value(result)
