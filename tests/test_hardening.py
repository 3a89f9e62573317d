"""Query limits, masked errors and no schema hints for probes."""

from __future__ import annotations

from typing import Any

import pytest
from account_tree import Member, build_tree

from magnaprov.resolvers import accounts as account_resolvers


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(
        session_factory,
        services,
        [("admin", "p1", account_resolvers.ProvisioningLevel.VIEW, False)],
    )


async def test_deeply_nested_query_is_refused(gql, tree):
    nested = "parent { " * 15 + "login" + " }" * 15
    body = await gql(f"query {{ viewer {{ {nested} }} }}", token=tree["admin"].token)
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert body.get("data") is None


async def test_too_many_aliases_are_refused(gql, tree):
    aliases = " ".join(f"a{n}: viewer {{ login }}" for n in range(40))
    body = await gql(f"query {{ {aliases} }}", token=tree["admin"].token)
    assert "aliases" in body["errors"][0]["message"].lower()


async def test_a_repeated_document_is_validated_once_and_still_limited(gql, tree, monkeypatch):
    import strawberry.schema.schema as strawberry_schema

    validated: list[object] = []
    original = strawberry_schema.validate

    def counting(*args: Any, **kwargs: Any) -> Any:
        validated.append(args[1])
        return original(*args, **kwargs)

    # Strawberry's validation cache wraps `validate_document`, which calls graphql-core's
    # `validate` through the name it imported.
    monkeypatch.setattr(strawberry_schema, "validate", counting)
    query = "query { viewer { login } } # validated once"
    for _ in range(3):
        body = await gql(query, token=tree["admin"].token)
        assert body["data"] == {"viewer": {"login": "admin"}}
    assert len(validated) == 1
    nested = "parent { " * 15 + "login" + " }" * 15
    for _ in range(2):
        body = await gql(f"query {{ viewer {{ {nested} }} }}", token=tree["admin"].token)
        assert "exceeds maximum operation depth" in body["errors"][0]["message"]


async def test_too_many_tokens_are_refused(gql, tree):
    fields = " ".join("login" for _ in range(5000))
    body = await gql(f"query {{ viewer {{ {fields} }} }}", token=tree["admin"].token)
    assert "token" in body["errors"][0]["message"].lower()


async def test_unknown_field_error_gives_no_did_you_mean_hint(gql, tree):
    body = await gql("query { viewr { login } }", token=tree["admin"].token)
    message = body["errors"][0]["message"]
    assert "viewr" in message
    assert "Did you mean" not in message


async def test_unexpected_failures_are_masked(gql, tree, monkeypatch):
    async def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(account_resolvers, "list_accounts", explode)
    body = await gql("query { accounts { totalCount } }", token=tree["admin"].token)
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "hunter2" not in str(body)


async def test_expected_refusals_carry_a_code(gql):
    body = await gql("query { accounts { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
