"""Refuse NUL characters in string arguments: PostgreSQL text cannot hold them, so a NUL
would otherwise fail deep in a query instead of as a clear input error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import BREAK, ExecutionResult, GraphQLError, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

NUL_MESSAGE = "Text must not contain NUL characters."


class _FindNul(Visitor):
    found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        if "\x00" in node.value:
            self.found = True
            return BREAK
        return None


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


class RejectNulCharacters(SchemaExtension):
    """Answers BAD_USER_INPUT, before any resolver runs, when an argument holds a NUL."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        finder = _FindNul()
        if context.graphql_document is not None:
            visit(context.graphql_document, finder)
        if finder.found or _holds_nul(context.variables):
            error = GraphQLError(NUL_MESSAGE, extensions={"code": "BAD_USER_INPUT"})
            context.result = ExecutionResult(data=None, errors=[error])
        yield
