"""Plain lists completed by `ListExecutionContext` answer exactly as graphql-core does.

Each query runs on one schema twice, with Strawberry's own execution context and with ours;
data and errors must be identical. A spy on graphql-core's list completion tells whether the
list went the plain way or was handed back.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from graphql.execution import Executor

from magnaprov.schema.list_execution import ListExecutionContext
from magnaprov.schema.preloading import NOT_LOADED, NotLoaded, deferred, preloaded_from

WHEN = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Owner:
    login: str
    age: int | None


@strawberry.type
class Item:
    name: str
    count: int
    colour: Colour
    seen: datetime
    tags: list[str]
    owner_value: strawberry.Private[Owner | NotLoaded | None] = NOT_LOADED

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field(metadata=preloaded_from("owner_value"))
    def owner(self, info: strawberry.Info) -> Owner | None:
        if isinstance(self.owner_value, NotLoaded):
            return deferred(_late_owner())
        return self.owner_value

    @strawberry.field
    def greeting(self, polite: bool = False) -> str:
        return f"Dear {self.name}" if polite else self.name

    @strawberry.field
    async def later(self) -> str:
        return self.name


async def _late_owner() -> Owner:
    return Owner(login="late", age=None)


def items(*, broken: str | None = None) -> list[Item]:
    made = [
        Item(
            name=f"item{n}",
            count=n,
            colour=Colour.RED if n % 2 else Colour.BLUE,
            seen=WHEN,
            tags=["a", "b"][: n % 3],
            owner_value=None if n == 2 else Owner(login=f"user{n}", age=20 + n),
        )
        for n in range(4)
    ]
    if broken == "null name":
        made[1].name = None  # type: ignore[assignment]
    elif broken == "huge count":
        made[2].count = 2**40
    elif broken == "owner not loaded":
        made[3].owner_value = NOT_LOADED
    elif broken == "wrong object":
        made[0].owner_value = Item(  # type: ignore[assignment]
            name="x", count=0, colour=Colour.RED, seen=WHEN, tags=[]
        )
    return made


@strawberry.type
class Query:
    @strawberry.field
    def items(self, broken: str | None = None) -> list[Item]:
        return items(broken=broken)


ORIGINAL = strawberry.Schema(query=Query)
OURS = strawberry.Schema(query=Query, execution_context_class=ListExecutionContext)

PLAIN = [
    "{ items { name count colour seen tags shout } }",
    "{ items { __typename first: name n: count owner { login age __typename } } }",
    "{ items { ...Parts ... on Item { tags } } } fragment Parts on Item { name owner { login } }",
    "query($skip: Boolean!) { items { name @skip(if: $skip) count @include(if: $skip) } }",
    "{ items { name owner { login } owner { age } } }",
]
HANDED_BACK = [
    "{ items { greeting(polite: true) } }",
    "{ items { later } }",
    '{ items(broken: "null name") { name count } }',
    '{ items(broken: "huge count") { name count } }',
    '{ items(broken: "owner not loaded") { name owner { login } } }',
    '{ items(broken: "wrong object") { owner { login } } }',
]


@pytest.fixture
def list_completions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Field names of the lists graphql-core itself completed."""
    completed: list[str] = []
    original = Executor.complete_list_value

    def spy(self: Any, return_type: Any, details: Any, info: Any, *args: Any) -> Any:
        completed.append(info.field_name)
        return original(self, return_type, details, info, *args)

    monkeypatch.setattr(Executor, "complete_list_value", spy)
    return completed


async def answers(query: str) -> tuple[Any, Any]:
    variables = {"skip": True}
    original = await ORIGINAL.execute(query, variable_values=variables)
    ours = await OURS.execute(query, variable_values=variables)
    formatted = [[error.formatted for error in result.errors or []] for result in (original, ours)]
    assert ours.data == original.data, query
    assert formatted[1] == formatted[0], query
    return ours.data, formatted[1]


@pytest.mark.parametrize("query", PLAIN)
async def test_plain_lists_answer_as_graphql_core_without_its_list_completion(
    query, list_completions
):
    data, errors = await answers(query)
    assert data is not None and errors == []
    # graphql-core completed the lists of the original schema only: once per query.
    assert list_completions.count("items") == 1


@pytest.mark.parametrize("query", HANDED_BACK)
async def test_other_lists_are_handed_back_and_answer_identically(query, list_completions):
    await answers(query)
    assert list_completions.count("items") == 2


async def test_errors_of_handed_back_lists_name_the_item_and_field():
    data, errors = await answers('{ items(broken: "null name") { name } }')
    assert data is None
    assert errors[0]["path"] == ["items", 1, "name"]
    assert "non-nullable" in errors[0]["message"]


async def test_a_field_not_preloaded_is_resolved_by_its_resolver():
    data, errors = await answers('{ items(broken: "owner not loaded") { owner { login } } }')
    assert errors == []
    assert data["items"][3] == {"owner": {"login": "late"}}
    assert data["items"][2] == {"owner": None}
