"""Viewer isolation in the data layer: rows outside the viewer's subtree are simply absent.

A session whose ``info["tree_scope"]`` holds a path prefix gets, on every ORM SELECT, the criterion
``tree_path LIKE '<prefix>%'`` for every `InTenantTree` entity, relationship loads included.
A statement that must see across tenants (uniqueness checks, ancestors' permission levels,
the device routes) says so with ``execution_options(unscoped=True)``.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from magnaprov.db.base import InTenantTree

__all__ = ["TREE_SCOPE", "UNSCOPED", "set_tree_scope"]

TREE_SCOPE = "tree_scope"
UNSCOPED = {"unscoped": True}


def set_tree_scope(session: Session, path_prefix: str | None) -> None:
    """Restrict every later ORM SELECT of `session` to the subtree at `path_prefix`."""
    if path_prefix is None:
        session.info.pop(TREE_SCOPE, None)
    else:
        session.info[TREE_SCOPE] = path_prefix


@event.listens_for(Session, "do_orm_execute")
def _restrict_to_tree_scope(state: ORMExecuteState) -> None:
    prefix = state.session.info.get(TREE_SCOPE)
    if prefix is None or not state.is_select or state.execution_options.get("unscoped"):
        return
    pattern = f"{prefix}%"
    state.statement = state.statement.options(
        with_loader_criteria(
            InTenantTree,
            lambda cls: cls.tree_path.like(pattern),
            include_aliases=True,
        )
    )
