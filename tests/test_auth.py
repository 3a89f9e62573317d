"""Login, sessions and API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from account_tree import ADMIN_PASSWORD, Member, build_tree
from sqlalchemy import select, text, update

from magnaprov.db import AccessToken, Account, ProvisioningLevel, utcnow
from magnaprov.resolvers import RequestDatabase, Services
from magnaprov.resolvers.auth import authenticate, login
from magnaprov.resolvers.permissions import effective_permissions_for_paths
from magnaprov.tenancy import Permissions, hash_token

LOGIN = """mutation($login: String!, $password: String!) {
  login(login: $login, password: $password) { token expiresAt userErrors { field code message } } }"""
CREATE_TOKEN = """mutation($name: String!, $days: Int) {
  createApiToken(name: $name, expiresInDays: $days) { token apiToken { id name expiresAt }
  userErrors { field code } } }"""
REVOKE = (
    "mutation($id: ID!) { revokeApiToken(id: $id) { revokedTokenId userErrors { field code } } }"
)
VIEWER = "query { viewer { login } }"


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(
        session_factory,
        services,
        [
            ("admin", "p1", ProvisioningLevel.VIEW, False),
            ("admin", "p2", ProvisioningLevel.VIEW, False),
        ],
    )


async def test_login_returns_a_working_session_token_with_expiry(gql, tree):
    body = (await gql(LOGIN, {"login": "admin", "password": ADMIN_PASSWORD}))["data"]["login"]
    assert body["userErrors"] == [] and body["expiresAt"]
    assert (await gql(VIEWER, token=body["token"]))["data"]["viewer"] == {"login": "admin"}


async def test_login_is_case_insensitive_on_the_login_name(gql, tree):
    body = await gql(LOGIN, {"login": "ADMIN", "password": ADMIN_PASSWORD})
    assert body["data"]["login"]["token"]


async def test_wrong_password_and_unknown_login_get_the_same_answer(gql, tree):
    wrong = await gql(LOGIN, {"login": "admin", "password": "not-the-password"})
    unknown = await gql(LOGIN, {"login": "nobody-here", "password": "not-the-password"})
    assert wrong == unknown
    assert wrong["data"]["login"]["token"] is None
    assert wrong["data"]["login"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_tokens_are_stored_only_as_hashes(gql, tree, engine):
    token = tree["p1"].token
    async with engine.connect() as connection:
        stored = [
            row[0] for row in await connection.execute(text("SELECT token_hash FROM access_token"))
        ]
    assert token not in stored
    assert hash_token(token) in stored


async def test_expired_session_is_refused(gql, tree, session_factory):
    async with session_factory() as session:
        await session.execute(
            update(AccessToken)
            .where(AccessToken.token_hash == hash_token(tree["p1"].token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert (await gql(VIEWER, token=tree["p1"].token))["data"]["viewer"] is None


async def test_garbage_authorization_headers_are_anonymous(client, tree):
    for header in ["Bearer", "Basic abc", "Bearer   ", "bearer nonsense", "x" * 5000]:
        response = await client.post(
            "/graphql", json={"query": VIEWER}, headers={"Authorization": header}
        )
        assert response.status_code == 200
        assert response.json()["data"]["viewer"] is None


async def test_api_token_is_shown_once_listed_and_revoked_at_once(gql, tree):
    created = await gql(CREATE_TOKEN, {"name": "billing sync", "days": 30}, token=tree["p1"].token)
    payload = created["data"]["createApiToken"]
    assert payload["userErrors"] == []
    api_token = payload["token"]
    assert (await gql(VIEWER, token=api_token))["data"]["viewer"] == {"login": "p1"}
    listed = await gql("query { apiTokens { id name } }", token=tree["p1"].token)
    assert listed["data"]["apiTokens"] == [
        {"id": payload["apiToken"]["id"], "name": "billing sync"}
    ]
    assert "token" not in str(listed["data"]["apiTokens"][0].keys())
    revoked = await gql(REVOKE, {"id": payload["apiToken"]["id"]}, token=tree["p1"].token)
    assert revoked["data"]["revokeApiToken"]["userErrors"] == []
    assert (await gql(VIEWER, token=api_token))["data"]["viewer"] is None


async def test_api_token_without_expiry_never_expires(gql, tree):
    created = await gql(CREATE_TOKEN, {"name": "forever"}, token=tree["p1"].token)
    assert created["data"]["createApiToken"]["apiToken"]["expiresAt"] is None


async def test_api_token_input_is_validated(gql, tree):
    body = await gql(CREATE_TOKEN, {"name": " ", "days": 0}, token=tree["p1"].token)
    assert body["data"]["createApiToken"]["userErrors"] == [
        {"field": "name", "code": "REQUIRED"},
        {"field": "expiresInDays", "code": "OUT_OF_RANGE"},
    ]


async def test_another_accounts_token_cannot_be_revoked(gql, tree):
    created = await gql(CREATE_TOKEN, {"name": "mine"}, token=tree["p1"].token)
    token_id = created["data"]["createApiToken"]["apiToken"]["id"]
    for actor in ("p2", "admin"):
        body = await gql(REVOKE, {"id": token_id}, token=tree[actor].token)
        assert body["data"]["revokeApiToken"]["userErrors"] == [
            {"field": "id", "code": "NOT_FOUND"}
        ]
    assert (await gql(VIEWER, token=created["data"]["createApiToken"]["token"]))["data"]["viewer"]


async def test_logout_ends_the_session(gql, tree):
    assert (await gql("mutation { logout { userErrors { code } } }", token=tree["p2"].token))[
        "data"
    ]
    assert (await gql(VIEWER, token=tree["p2"].token))["data"]["viewer"] is None


async def test_login_rehashes_a_password_made_with_old_parameters(tree, session_factory, settings):
    stronger = Services.from_settings(settings.model_copy(update={"argon2_time_cost": 2}))
    async with session_factory() as session:
        before = await session.scalar(
            select(Account.password_hash).where(Account.login_key == "admin")
        )
        issued, _ = await login(RequestDatabase(session), stronger, "admin", ADMIN_PASSWORD)
        assert issued is not None
    async with session_factory() as session:
        after = await session.scalar(
            select(Account.password_hash).where(Account.login_key == "admin")
        )
    assert before != after
    assert after is not None and after.startswith("$argon2id$") and "t=2" in after
    assert not stronger.hasher.needs_rehash(after)


async def test_authenticating_reads_the_whole_chain_of_ancestors_in_one_statement(
    session_factory, services, count_statements
):
    levels = ProvisioningLevel
    members = await build_tree(
        session_factory,
        services,
        [
            ("admin", "p1", levels.VIEW, True),
            ("p1", "o1", levels.MODIFY, False),
            ("o1", "u1", levels.MODIFY, True),
            ("admin", "p2", levels.MODIFY, True),
            ("p2", "o2", levels.NONE, True),
        ],
    )
    expected = {
        "admin": Permissions(levels.MODIFY, sip_management=True),
        "p1": Permissions(levels.VIEW, sip_management=True),
        "o1": Permissions(levels.VIEW, sip_management=False),
        "u1": Permissions(levels.VIEW, sip_management=False),  # capped by p1 and by o1
        "p2": Permissions(levels.MODIFY, sip_management=True),
        "o2": Permissions(levels.NONE, sip_management=True),
    }
    for name, member in members.items():
        async with session_factory() as session:
            await session.connection()  # SQLite's BEGIN is not the statement counted
            with count_statements as counter:
                viewer = await authenticate(session, member.token)
            [by_paths] = await effective_permissions_for_paths(session, [member.tree_path])
        assert counter.count == 1, name
        assert viewer is not None
        assert (viewer.account_id, viewer.role, viewer.tree_path) == (
            member.id,
            member.role,
            member.tree_path,
        )
        assert viewer.permissions == expected[name] == by_paths, name
