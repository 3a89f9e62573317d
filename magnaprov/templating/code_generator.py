"""Jinja's code generator, changed where the sandbox has no hook of its own.

Jinja compiles ``a ~ b``, literal template text and ``{% for %}`` to plain Python
that never passes through the sandbox, so this generator emits calls into the
environment there instead:

* ``~`` goes to ``environment.concat_values`` (size-checked, format-aware);
* literal text is counted with ``environment.count_written`` as it is produced,
  including into macro and block buffers;
* every ``{% for %}`` iterates through ``environment.guard_iteration``, which
  makes each iteration a step of the render budget;
* constant expressions are no longer folded into the output at compile time,
  so they too pass through the format's escaping at run time;
* ``{% filter %}`` and ``{% autoescape %}`` sections are refused: the first
  would write a filter's result without escaping it, the second would switch
  the escaping off.
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame

__all__ = ["GuardedCodeGenerator"]

_GUARD = "guard_iteration"


class GuardedCodeGenerator(CodeGenerator):
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_values((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        literal = sum(
            len(child.data) for child in node.nodes if isinstance(child, nodes.TemplateData)
        )
        if literal:
            self.writeline(f"environment.count_written({literal})")
        super().visit_Output(node, frame)

    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> str:
        if not isinstance(node, nodes.TemplateData):
            raise nodes.Impossible()
        return super()._output_child_to_const(node, frame, finalize)

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        if not _is_guarded(node.iter):
            node.iter = nodes.Call(
                nodes.EnvironmentAttribute(_GUARD, lineno=node.iter.lineno),
                [node.iter],
                [],
                None,
                None,
                lineno=node.iter.lineno,
            )
        super().visit_For(node, frame)

    def visit_FilterBlock(self, node: nodes.FilterBlock, frame: Frame) -> None:
        self.fail(
            "{% filter %} sections are not available; apply the filter to a value", node.lineno
        )

    def visit_EvalContextModifier(self, node: nodes.EvalContextModifier, frame: Frame) -> None:
        self.fail(
            "{% autoescape %} is not available: values are always escaped for the file's format",
            node.lineno,
        )

    def visit_ScopedEvalContextModifier(
        self, node: nodes.ScopedEvalContextModifier, frame: Frame
    ) -> None:
        self.visit_EvalContextModifier(node, frame)


def _is_guarded(expression: nodes.Node) -> bool:
    return (
        isinstance(expression, nodes.Call)
        and isinstance(expression.node, nodes.EnvironmentAttribute)
        and expression.node.name == _GUARD
    )
