"""The rule for migrations during a rolling upgrade, checked over their source.

A release's migrations only expand: the previous release keeps running on the migrated
database, so `upgrade()` must not drop or rename what it reads, nor add a NOT NULL column it
does not write. Such a step belongs to a later release's contract migration, and says so with
a `# contract step: <why it is safe now>` comment on its line or just above it.
"""

from __future__ import annotations

import ast
import re

__all__ = ["CONTRACT_MARKER", "contract_breaks"]

CONTRACT_MARKER = "contract step"
_REMOVING = {"drop_column", "drop_table", "rename_table"}
_SQL_REMOVING = re.compile(r"\b(DROP\s+(COLUMN|TABLE)|RENAME\s+(COLUMN|TO))\b", re.IGNORECASE)


def contract_breaks(source: str) -> list[str]:
    """`line N: what` for each unmarked contract-breaking operation in `upgrade()`."""
    tree = ast.parse(source)
    lines = source.splitlines()
    upgrade = next(
        (
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name == "upgrade"
        ),
        None,
    )
    if upgrade is None:
        return []
    found = []
    for statement, enclosing in _statements(upgrade, []):
        for call in _calls(statement):
            problem = _problem(call)
            marked = any(_marked(lines, outer) for outer in (*enclosing, statement))
            if problem and not marked:
                found.append(f"line {call.lineno}: {problem}")
    return found


def _statements(
    parent: ast.stmt, enclosing: list[ast.stmt]
) -> list[tuple[ast.stmt, list[ast.stmt]]]:
    """Every statement below `parent`, with the compound statements around it."""
    found = []
    for field in ("body", "orelse", "finalbody"):
        for child in getattr(parent, field, []):
            found.append((child, enclosing))
            found += _statements(child, [*enclosing, child])
    return found


def _calls(statement: ast.stmt) -> list[ast.Call]:
    # Only the statement's own expression, not the bodies of nested statements (a `with`'s
    # body is visited as statements of its own).
    own = [
        value
        for field, value in ast.iter_fields(statement)
        if field not in {"body", "orelse", "finalbody", "handlers"}
    ]
    calls: list[ast.Call] = []
    for value in own:
        for part in value if isinstance(value, list) else [value]:
            if isinstance(part, ast.AST):
                calls += [node for node in ast.walk(part) if isinstance(node, ast.Call)]
    return calls


def _problem(call: ast.Call) -> str | None:
    if not isinstance(call.func, ast.Attribute):
        return None
    name = call.func.attr
    keywords = {keyword.arg: keyword.value for keyword in call.keywords}
    if name in _REMOVING:
        return f"{name} (the previous release may still read it)"
    if name == "alter_column" and "new_column_name" in keywords:
        return "alter_column renaming a column (the previous release reads the old name)"
    if name == "alter_column" and _is_false(keywords.get("nullable")):
        return "alter_column making a column NOT NULL (the previous release may not write it)"
    if name == "add_column" and _adds_required_column(call):
        return "add_column NOT NULL without a server_default (the previous release cannot insert)"
    if name == "execute" and call.args and _sql_removes(call.args[0]):
        return "execute of SQL that drops or renames"
    return None


def _adds_required_column(call: ast.Call) -> bool:
    for argument in call.args:
        if (
            isinstance(argument, ast.Call)
            and getattr(argument.func, "attr", getattr(argument.func, "id", "")) == "Column"
        ):
            keywords = {keyword.arg: keyword.value for keyword in argument.keywords}
            if _is_false(keywords.get("nullable")) and "server_default" not in keywords:
                return True
    return False


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _sql_removes(node: ast.expr) -> bool:
    texts = [
        part.value
        for part in ast.walk(node)
        if isinstance(part, ast.Constant) and isinstance(part.value, str)
    ]
    return any(_SQL_REMOVING.search(text) for text in texts)


def _marked(lines: list[str], statement: ast.stmt) -> bool:
    """A marker comment on the statement's lines or in the comment block right above it."""
    body = getattr(statement, "body", None)
    # A compound statement's own lines end where its body begins.
    end = body[0].lineno - 1 if body else (statement.end_lineno or statement.lineno)
    if any(CONTRACT_MARKER in line.lower() for line in lines[statement.lineno - 1 : end]):
        return True
    number = statement.lineno - 2
    while number >= 0 and lines[number].strip().startswith("#"):
        if CONTRACT_MARKER in lines[number].lower():
            return True
        number -= 1
    return False
