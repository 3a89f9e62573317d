"""Relay connections over a resolver's `Page`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from magnaprov.resolvers import Page
from magnaprov.resolvers.pagination import encode_cursor
from magnaprov.schema.context import Info

__all__ = ["Connection", "Edge", "PageInfo", "connection_from_page"]

NodeT = TypeVar("NodeT")


@strawberry.type(description="Where a page stands in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow this page.")
    has_previous_page: bool = strawberry.field(description="Whether items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item; pass as `after`."
    )


@strawberry.type(description="An item of a connection with its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Opaque position of this item.")
    node: NodeT = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list, Relay style.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The items of this page with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging information.")
    page: strawberry.Private[Page[Any]]

    @strawberry.field(description="The items of this page, without cursors.")
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many items the whole list holds, across pages.")
    async def total_count(self, info: Info) -> int:
        async with info.context.db.reading() as session:
            return await self.page.total_count(session)


def connection_from_page(
    page: Page[Any], to_node: Callable[[Any], NodeT], row_id: Callable[[Any], int]
) -> Connection[NodeT]:
    """A connection of the page's rows, each turned into its GraphQL type."""
    edges = [Edge(cursor=encode_cursor(row_id(row)), node=to_node(row)) for row in page.rows]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        page=page,
    )
