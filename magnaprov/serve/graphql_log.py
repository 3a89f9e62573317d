"""One log line per GraphQL operation: what ran, for whom, how long, and how it ended.

The line names the operation (its type, name and root fields), the viewer's account and the
id of the token that authenticated it (never the token), the milliseconds it took and its
outcome: `ok`, `user_errors` (with their codes) or `errors` (with theirs). Variables are never
logged: they carry passwords, and a document can carry one inline too, so the document is not
logged either, only the names taken from it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse
from strawberry.types import ExecutionResult

from magnaprov.tenancy import Viewer

__all__ = ["REFUSED", "Operation", "Outcome", "describe_operation", "log_operation", "outcome_of"]

log = logging.getLogger("magnaprov.graphql")

_UNCODED = "UNCODED"  # a masked error, or one of the document (syntax, validation)
_CACHED_MAX_CHARS = 16 * 1024
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")  # a GraphQL name, cut at 100 characters


@dataclass(frozen=True, slots=True)
class Operation:
    """What a document asks for; `kind` is None when it does not parse."""

    kind: str | None
    name: str | None
    fields: tuple[str, ...]


def describe_operation(query: str, operation_name: str | None, max_tokens: int) -> Operation:
    """The operation `operation_name` (or the only one) of `query`, parsed within `max_tokens`."""
    if len(query) > _CACHED_MAX_CHARS:
        return _describe(query, operation_name, max_tokens)
    return _describe_cached(query, operation_name, max_tokens)


def _describe(query: str, operation_name: str | None, max_tokens: int) -> Operation:
    # A name the client sent but the document lacks is kept only if it could be a name: it
    # must not break or forge a log line.
    unmatched = Operation(None, operation_name if _is_name(operation_name) else None, ())
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return unmatched
    operations = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        and (operation_name is None or _named(definition, operation_name))
    ]
    if not operations:
        return unmatched
    chosen = operations[0]
    fields = tuple(
        selection.name.value
        for selection in chosen.selection_set.selections
        if isinstance(selection, FieldNode)
    )
    name = chosen.name.value if chosen.name else None
    return Operation(chosen.operation.value, name, fields)


# Clients send the same few documents over and over; the cache holds small ones only, so that
# unique large documents cannot fill memory (256 x 16 KiB at most).
_describe_cached = lru_cache(maxsize=256)(_describe)


def _is_name(text: str | None) -> bool:
    return text is not None and _NAME.fullmatch(text) is not None


def _named(definition: OperationDefinitionNode, name: str) -> bool:
    return definition.name is not None and definition.name.value == name


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an operation ended: `ok`, `user_errors` or `errors`, and the codes of each."""

    kind: str
    error_codes: list[str]
    user_error_codes: list[str]


# Refused before it ran (an operation name the document lacks, a mutation over GET): a 400.
REFUSED = Outcome("errors", [_UNCODED], [])


def outcome_of(result: ExecutionResult) -> Outcome:
    """The outcome of `result`: its errors first, then its payloads' `userErrors`."""
    error_codes = sorted({_code(error) for error in result.errors or ()})
    user_error_codes = _user_error_codes(result.data)
    kind = "errors" if error_codes else "user_errors" if user_error_codes else "ok"
    return Outcome(kind, error_codes, user_error_codes)


def log_operation(
    operation: Operation, viewer: Viewer | None, seconds: float, outcome: Outcome
) -> None:
    """Write the operation's line (at INFO; WARNING when it ended in errors)."""
    fields = {
        "operation_type": operation.kind,
        "operation": operation.name,
        "fields": list(operation.fields),
        "account_id": viewer.account_id if viewer else None,
        "token_id": viewer.token_id if viewer else None,
        "ms": round(seconds * 1000, 2),
        "outcome": outcome.kind,
        "error_codes": outcome.error_codes,
        "user_error_codes": outcome.user_error_codes,
    }
    level = logging.WARNING if outcome.error_codes else logging.INFO
    shown = operation.name or ",".join(operation.fields) or "-"
    log.log(
        level, "graphql %s %s %s", operation.kind or "invalid", shown, outcome.kind, extra=fields
    )


def _code(error: GraphQLError) -> str:
    code = (error.extensions or {}).get("code")
    return str(code) if code else _UNCODED


def _user_error_codes(data: dict[str, Any] | None) -> list[str]:
    """The codes of the `userErrors` of each root field's payload (mutations report there)."""
    codes: set[str] = set()
    for payload in (data or {}).values():
        if isinstance(payload, dict):
            for problem in payload.get("userErrors") or ():
                if isinstance(problem, dict) and problem.get("code"):
                    codes.add(str(problem["code"]))
    return sorted(codes)
