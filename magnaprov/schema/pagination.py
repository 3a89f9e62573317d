"""Relay connections over a resolver's `Page`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from magnaprov.resolvers import Page
from magnaprov.resolvers.pagination import CountStatement, count_all, encode_cursor
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
    @strawberry.field(description="The items of this page with cursors.")
    def edges(self) -> list[Edge[NodeT]]:
        # Built on demand: a list that selects only `nodes` never pays for 1,000 cursors.
        return [
            Edge(cursor=encode_cursor(row_id), node=node)
            for row_id, node in zip(self.row_ids, self.node_list, strict=True)
        ]

    @strawberry.field(description="Paging information.")
    def page_info(self) -> PageInfo:
        return self.paging

    paging: strawberry.Private[PageInfo]
    node_list: strawberry.Private[list[NodeT]]
    row_ids: strawberry.Private[list[int]]
    # Not the page itself: its rows are garbage once the nodes are built, not kept for the
    # whole request (a page of 1,000 rows is 2,000 objects the collector would walk).
    count_statement: strawberry.Private[CountStatement]

    @strawberry.field(description="The items of this page, without cursors.")
    def nodes(self) -> list[NodeT]:
        return self.node_list

    @strawberry.field(description="How many items the whole list holds, across pages.")
    async def total_count(self, info: Info) -> int:
        async with info.context.db.reading() as session:
            return await count_all(session, self.count_statement)


def connection_from_page(
    page: Page[Any], to_node: Callable[[Any], NodeT], row_id: Callable[[Any], int]
) -> Connection[NodeT]:
    """A connection of the page's rows, each turned into its GraphQL type.

    Whenever `hasNextPage` is true `endCursor` is set, so a client paging with `after:
    endCursor` never loses its place (an empty page resumes where it began).
    """
    row_ids = [row_id(row) for row in page.rows]
    end = row_ids[-1] if row_ids else (page.start_after if page.has_next_page else None)
    return Connection(
        paging=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=encode_cursor(row_ids[0]) if row_ids else None,
            end_cursor=None if end is None else encode_cursor(end),
        ),
        node_list=[to_node(row) for row in page.rows],
        row_ids=row_ids,
        count_statement=page.count_statement,
    )
