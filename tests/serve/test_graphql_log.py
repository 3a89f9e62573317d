"""One log line per GraphQL operation: name, viewer, token id, duration and outcome, never a
variable or the document; logins logged with their outcome, never the password."""

from __future__ import annotations

import logging

import pytest
from account_tree import ADMIN_PASSWORD, build_tree
from sqlalchemy import select

from magnaprov.db import AccessToken
from magnaprov.serve.graphql_log import describe_operation
from magnaprov.tenancy import hash_token

LOGIN = """mutation SignIn($login: String!, $password: String!) {
  login(login: $login, password: $password) { token userErrors { code } } }"""
VIEWER = "query Me { viewer { login } }"
OPERATION_FIELDS = ("operation", "fields", "account_id", "token_id", "ms", "outcome")


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="magnaprov")
    return caplog


def of(records: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [record for record in records.records if record.name == logger]


def everything_logged(records: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{record.getMessage()} {vars(record)}" for record in records.records)


async def test_a_failed_login_is_logged_with_its_code_and_never_the_password(
    gql, session_factory, services, records
):
    tree = await build_tree(session_factory, services, [])
    records.clear()
    body = await gql(LOGIN, {"login": "admin", "password": "Wrong-Guess-5521"})
    assert body["data"]["login"]["userErrors"] == [{"code": "INVALID_CREDENTIALS"}]
    [line] = of(records, "magnaprov.graphql")
    assert line.operation == "SignIn" and line.fields == ["login"]
    assert line.outcome == "user_errors" and line.user_error_codes == ["INVALID_CREDENTIALS"]
    assert line.account_id is None and line.token_id is None
    [login] = of(records, "magnaprov.auth")
    assert login.getMessage() == "login failed: wrong password"
    assert login.account_id == tree["admin"].id
    assert "Wrong-Guess-5521" not in everything_logged(records)


async def test_a_login_to_an_unknown_account_logs_neither_name_nor_password(gql, records):
    await gql(LOGIN, {"login": "Maybe-A-Password-77", "password": "Other-Secret-19"})
    [login] = of(records, "magnaprov.auth")
    assert login.getMessage() == "login failed: unknown login"
    logged = everything_logged(records)
    assert "Maybe-A-Password-77" not in logged and "Other-Secret-19" not in logged


async def test_an_authenticated_operation_names_the_viewer_and_the_token_id_never_the_token(
    gql, session_factory, services, records
):
    tree = await build_tree(session_factory, services, [])
    admin = tree["admin"]
    async with session_factory() as session:
        token_id = await session.scalar(
            select(AccessToken.id).where(AccessToken.token_hash == hash_token(admin.token))
        )
    records.clear()
    await gql(VIEWER, token=admin.token)
    [line] = of(records, "magnaprov.graphql")
    assert all(hasattr(line, field) for field in OPERATION_FIELDS)
    assert (line.operation_type, line.operation, line.fields) == ("query", "Me", ["viewer"])
    assert line.account_id == admin.id and line.token_id == token_id
    assert line.outcome == "ok" and line.error_codes == [] and line.ms >= 0
    assert admin.token not in everything_logged(records)
    assert ADMIN_PASSWORD not in everything_logged(records)


async def test_an_operation_that_fails_is_logged_as_errors_with_their_codes(gql, records):
    await gql("query Broken { viewer { noSuchField } }")
    [line] = of(records, "magnaprov.graphql")
    assert line.levelno == logging.WARNING
    assert line.outcome == "errors" and line.error_codes == ["UNCODED"]


async def test_a_refused_bearer_token_is_logged_without_the_token(gql, records):
    await gql(VIEWER, token="mpv_not-a-real-token-8812")
    refused = [r for r in records.records if "bearer token refused" in r.getMessage()]
    assert len(refused) == 1
    assert "mpv_not-a-real-token-8812" not in everything_logged(records)


def test_the_named_operation_is_the_one_described():
    document = "query A { viewer { login } } mutation B { logout { userErrors { code } } }"
    assert describe_operation(document, "B", 1000).kind == "mutation"
    assert describe_operation(document, "B", 1000).fields == ("logout",)
    assert describe_operation("{ viewer { login } }", None, 1000).name is None
    assert describe_operation("{ viewer ", None, 1000).kind is None  # does not parse
    assert describe_operation("{ a b c d e }", None, 3).kind is None  # over the token limit
    assert describe_operation("{ viewer ", "Fine_1", 1000).name == "Fine_1"
    assert describe_operation("{ viewer ", "forged\nline", 1000).name is None
