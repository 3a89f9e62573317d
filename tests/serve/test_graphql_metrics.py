"""GraphQL operations in /metrics: counted by type, name and outcome, timed in a histogram, and
never one series per name a client makes up."""

from __future__ import annotations

import httpx
from account_tree import build_tree
from metric_samples import Scrape, parse_scrape

from magnaprov.serve.graphql_metrics import ANONYMOUS, MAX_NAME_CHARS, MAX_NAMES, OTHER

OPERATIONS = "magnaprov_graphql_operations_total"
SECONDS = "magnaprov_graphql_operation_seconds"
LOGIN = """mutation SignIn($login: String!, $password: String!) {
  login(login: $login, password: $password) { token userErrors { code } } }"""


async def scrape(client: httpx.AsyncClient) -> Scrape:
    return parse_scrape((await client.get("/metrics")).text)


async def post(
    client: httpx.AsyncClient, body: dict[str, object], token: str | None = None
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    await client.post("/graphql", json=body, headers=headers)


async def test_operations_are_counted_by_type_name_and_outcome_with_their_latency(
    client, session_factory, services
):
    tree = await build_tree(session_factory, services, [])
    admin = tree["admin"].token
    for _ in range(2):
        await post(client, {"query": "query Me { viewer { login } }"}, admin)
    await post(client, {"query": LOGIN, "variables": {"login": "admin", "password": "Wrong-9"}})
    await post(client, {"query": "query Broken { viewer { noSuchField } }"}, admin)
    await post(client, {"query": "{ viewer { login } }"}, admin)
    metrics = await scrape(client)

    assert metrics.value(OPERATIONS, type="query", operation="Me", outcome="ok") == 2
    assert (
        metrics.value(OPERATIONS, type="mutation", operation="SignIn", outcome="user_errors") == 1
    )
    assert metrics.value(OPERATIONS, type="query", operation="Broken", outcome="errors") == 1
    assert metrics.value(OPERATIONS, type="query", operation=ANONYMOUS, outcome="ok") == 1
    assert metrics.types[SECONDS] == "histogram"
    assert metrics.value(f"{SECONDS}_count", type="query", operation="Me") == 2
    assert metrics.value(f"{SECONDS}_bucket", type="query", operation="Me", le="+Inf") == 2
    total = metrics.value(f"{SECONDS}_sum", type="mutation", operation="SignIn")
    assert total is not None and total > 0


async def test_a_document_that_does_not_parse_is_counted_as_invalid(client):
    await post(client, {"query": "query Oops { viewer { ", "operationName": "Oops"})
    metrics = await scrape(client)
    assert metrics.value(OPERATIONS, type="invalid", operation="Oops", outcome="errors") == 1


async def test_a_hostile_operation_name_is_cut_and_cannot_forge_a_label(client):
    long_name = "Q" + "x" * 5000
    await post(client, {"query": f"query {long_name} {{ __typename }}"})
    forged = 'Me", outcome="ok"} 99\nmagnaprov_fake 1\n#'
    await post(client, {"query": "query Me { __typename }", "operationName": forged})
    metrics = await scrape(client)

    names = {labels["operation"] for labels in metrics.labels_of(OPERATIONS)}
    assert long_name[:MAX_NAME_CHARS] in names
    assert all(len(name) <= MAX_NAME_CHARS for name in names)
    assert not any("magnaprov_fake" in name for name in names)
    assert "magnaprov_fake" not in metrics.types
    assert metrics.value(OPERATIONS, type="invalid", operation=ANONYMOUS, outcome="errors") == 1


async def test_names_past_the_cap_share_one_series(client):
    for n in range(MAX_NAMES + 20):
        await post(client, {"query": f"query Made{n} {{ __typename }}"})
    metrics = await scrape(client)

    names = {labels["operation"] for labels in metrics.labels_of(OPERATIONS)}
    assert len(names) == MAX_NAMES + 1  # the first MAX_NAMES, and (other)
    assert metrics.value(OPERATIONS, type="query", operation=OTHER, outcome="ok") == 20
    assert metrics.value(f"{SECONDS}_count", type="query", operation=OTHER) == 20
    assert "Made0" in names and f"Made{MAX_NAMES + 19}" not in names
