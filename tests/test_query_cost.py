"""The query cost budget: nested pages multiply, aliases and fragments count, before any SQL."""

from __future__ import annotations

from typing import Any

import pytest
from account_tree import STANDARD_TREE, Member, build_tree
from graphql import parse

from magnaprov.db import ProvisioningLevel as L
from magnaprov.schema import build_schema
from magnaprov.schema.query_cost import estimate_cost

# A tenant's organization with 11 users: each level of the reproduction pages through them.
ELEVEN_USERS = [*STANDARD_TREE, *(("o1", f"extra{n}", L.VIEW, False) for n in range(11))]
NESTED = """query { accounts(first: 1000) { nodes { login parent { children(first: 1000) {
  nodes { login parent { children(first: 1000) { nodes { login parent {
  children(first: 1000) { nodes { login } } } } } } } } } } } }"""
TYPENAME = "query { __typename }"


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services, ELEVEN_USERS)


@pytest.fixture
def graphql_schema(settings: Any) -> Any:
    return build_schema(settings)._schema


def cost(schema: Any, document: str, variables: dict[str, Any] | None = None) -> int:
    return estimate_cost(schema, parse(document), variables)


async def test_the_nested_children_reproduction_is_refused_before_any_statement_runs(
    gql, tree, count_statements
):
    token = tree["o1"].token
    with count_statements as counter:
        await gql(TYPENAME, token=token)
    authentication_only = counter.count
    with count_statements as counter:
        body = await gql(NESTED, token=token)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert "budget of 100000" in error["message"]
    assert error["extensions"]["budget"] == 100_000
    assert error["extensions"]["cost"] > 100_000
    assert counter.count == authentication_only


async def test_a_normal_list_query_passes_the_budget(gql, tree):
    body = await gql(
        "query { accounts(first: 100) { totalCount nodes { login parent { login } } } }",
        token=tree["o1"].token,
    )
    assert "errors" not in body
    assert body["data"]["accounts"]["totalCount"] == 14


async def test_aliases_multiply_the_cost(graphql_schema):
    one = "devices(first: 1000) { nodes { mac friendlyName } }"
    single = cost(graphql_schema, f"query {{ {one} }}")
    thirty = cost(graphql_schema, "query { " + " ".join(f"a{n}: {one}" for n in range(30)) + " }")
    assert single == 1 + 1000 * (1 + 2)  # devices, then nodes and 2 fields per page item
    assert thirty == 30 * single


async def test_aliased_pages_over_the_budget_are_refused(gql, tree):
    page = "accounts(first: 1000) { nodes { login name role code parent { login } } }"
    aliases = " ".join(f"a{n}: {page}" for n in range(20))
    body = await gql(f"query {{ {aliases} }}", token=tree["o1"].token)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


async def test_fragments_are_expanded_where_they_are_spread(graphql_schema):
    inline = "query { devices(first: 500) { nodes { mac extension { fullNumber name } } } }"
    spread = """query { devices(first: 500) { nodes { ...Phone } } }
      fragment Phone on Device { mac extension { ...Line } }
      fragment Line on Extension { fullNumber name }"""
    assert cost(graphql_schema, spread) == cost(graphql_schema, inline) == 1 + 500 * (1 + 1 + 1 + 2)


async def test_variables_give_the_page_size_and_defaults_apply(graphql_schema):
    document = "query($n: Int = 10) { devices(first: $n) { nodes { mac } } }"
    assert cost(graphql_schema, document, {"n": 800}) == 1 + 800 * 2
    assert cost(graphql_schema, document) == 1 + 10 * 2
    assert cost(graphql_schema, "query { devices { nodes { mac } } }") == 1 + 50 * 2


async def test_a_variable_page_size_is_weighed_with_its_value(gql, tree):
    document = """query($n: Int) { accounts(first: $n) { nodes { parent {
      children(first: $n) { nodes { login } } } } } }"""
    small = await gql(document, {"n": 5}, token=tree["o1"].token)
    assert "errors" not in small
    large = await gql(document, {"n": 1000}, token=tree["o1"].token)
    assert large["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


async def test_the_bench_list_of_a_thousand_devices_fits_the_default_budget(
    graphql_schema, settings
):
    from bench.graphql_list import QUERY

    assert cost(graphql_schema, QUERY) <= settings.graphql_max_cost
