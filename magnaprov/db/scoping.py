"""Viewer isolation in the data layer: rows outside the viewer's subtree are simply absent.

A session whose ``info["tree_scope"]`` holds a path prefix gets, on every ORM SELECT, the criterion
``tree_path LIKE '<prefix>%'`` for every `InTenantTree` entity, relationship loads included,
and audit entries whose actor or subject lies in the subtree.
A statement that must see across tenants (uniqueness checks, ancestors' permission levels,
the device routes) says so with ``execution_options(unscoped=True)``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, event, or_
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from magnaprov.db.audit import AuditEntry
from magnaprov.db.base import InTenantTree

__all__ = ["TREE_SCOPE", "UNSCOPED", "set_tree_scope", "tree_scoped"]

T = TypeVar("T")
TREE_SCOPE = "tree_scope"
UNSCOPED = {"unscoped": True}


def set_tree_scope(session: Session, path_prefix: str | None) -> None:
    """Restrict every later ORM SELECT of `session` to the subtree at `path_prefix`."""
    if path_prefix is None:
        session.info.pop(TREE_SCOPE, None)
    else:
        session.info[TREE_SCOPE] = path_prefix


def tree_scoped(session: Session, statement: Select[T]) -> Select[T]:
    """`statement` restricted as `session`'s ORM SELECTs are, to run on its connection.

    Plain rows read through the connection skip the ORM's per-row processing (a page of
    1,000 rows costs 1-2 ms less) but also its execute hook: this applies the same criteria.
    """
    prefix = session.info.get(TREE_SCOPE)
    return statement if prefix is None else statement.options(*_in_subtree(prefix))


@event.listens_for(Session, "do_orm_execute")
def _restrict_to_tree_scope(state: ORMExecuteState) -> None:
    prefix = state.session.info.get(TREE_SCOPE)
    if prefix is None or not state.is_select or state.execution_options.get("unscoped"):
        return
    state.statement = state.statement.options(*_in_subtree(prefix))


def _in_subtree(prefix: str) -> tuple[Any, ...]:
    pattern = f"{prefix}%"
    return (
        with_loader_criteria(
            InTenantTree,
            lambda cls: cls.tree_path.like(pattern),
            include_aliases=True,
        ),
        with_loader_criteria(
            AuditEntry,
            lambda cls: or_(cls.actor_path.like(pattern), cls.subject_path.like(pattern)),
            include_aliases=True,
        ),
    )
