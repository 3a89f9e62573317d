"""One session per request, never used by two resolvers at once."""

from __future__ import annotations

from typing import Any

import pytest
from account_tree import Member, build_tree


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services)


async def test_many_sibling_fields_hitting_the_database_concurrently_all_resolve(gql, tree):
    # Each alias resolves concurrently; children and totalCount run their own queries.
    fields = " ".join(
        f"a{n}: accounts(first: {n + 1}) {{ totalCount nodes {{ login children {{ totalCount }} }} }}"
        for n in range(12)
    )
    body = await gql(f"query {{ {fields} viewer {{ login }} }}", token=tree["admin"].token)
    assert "errors" not in body, body.get("errors")
    assert body["data"]["a11"]["totalCount"] == len(tree)
    assert len(body["data"]["a3"]["nodes"]) == 4


async def test_postgresql_plans_every_statement_with_its_parameters(postgres_url: str):
    # Generic plans of the tenant scope (tree_path LIKE $1) chose nested loops: see db/engine.py.
    from sqlalchemy import text

    from magnaprov.db import create_engine

    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            mode = (await connection.execute(text("SHOW plan_cache_mode"))).scalar_one()
    finally:
        await engine.dispose()
    assert mode == "force_custom_plan"
