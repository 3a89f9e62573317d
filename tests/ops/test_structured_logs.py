"""The log of a real `magnaprov serve` in JSON mode: one JSON object a line, each with time,
level, worker and request id; the request id the response returns names that request's lines;
GraphQL operations and logins are logged without their secrets; phone access lines are JSON
and never carry a device key."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from account_tree import ADMIN_PASSWORD, build_tree
from live_process import serve_process, wait_until
from phones import add_phone
from sqlalchemy.ext.asyncio import AsyncEngine

SIP_PASSWORD = "Sip-Secret-Zr4417q"
LOGIN = """mutation($login: String!, $password: String!) {
  login(login: $login, password: $password) { token userErrors { code } } }"""
SET_SIP_PASSWORD = """mutation ChangeLinePassword($id: ID!, $pw: String!) {
  updateSipPreferences(extensionId: $id, phonePassword: $pw, phonePasswordConfirmation: $pw) {
    userErrors { code } } }"""
EVERY_LINE_HAS = {"time", "level", "worker", "request_id", "event"}
Served = tuple[subprocess.Popen[bytes], str]


@pytest.fixture
def served(engine: AsyncEngine, tmp_path: Path) -> Iterator[Served]:
    url = engine.url.render_as_string(hide_password=False)
    with serve_process(
        url, tmp_path, separate_stderr=True, MAGNAPROV_LOG_FORMAT="json", MAGNAPROV_ACCESS_LOG="-"
    ) as running:
        yield running


def log_lines(tmp_path: Path) -> list[dict[str, Any]]:
    """Every line of the server's stderr, each parsed as JSON (a line that is not fails)."""
    lines = (tmp_path / "stderr.log").read_text().splitlines()
    assert lines, "the server logged nothing"
    return [json.loads(line) for line in lines]


async def post(http: httpx.AsyncClient, query: str, variables: dict[str, Any], **headers: str):
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response


async def test_json_lines_carry_request_ids_and_never_a_secret(
    served: Served, gql: Any, session_factory: Any, services: Any, tmp_path: Path
):
    process, base_url = served
    tree = await build_tree(session_factory, services)
    phone = await add_phone(gql, tree["o1"].token, tree["u1"].gid, "Desk", "00:15:65:00:00:31")
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        await wait_until(lambda: _answers(http), 30)
        login = await post(http, LOGIN, {"login": "admin", "password": ADMIN_PASSWORD})
        session_token = login.json()["data"]["login"]["token"]
        inline = f'mutation {{ login(login: "o1", password: "{tree["o1"].password}") {{ token }} }}'
        await post(http, inline, {})
        change = await post(
            http, SET_SIP_PASSWORD, {"id": phone.extension_id, "pw": SIP_PASSWORD},
            authorization=f"Bearer {tree['o1'].token}", **{"X-Request-ID": "change-0001"},
        )  # fmt: skip
        forged = await http.get("/healthz", headers={"X-Request-ID": "two words;x=1"})
        fetch = await http.get(phone.url)
    process.terminate()  # the access log is written in batches, the last one at shutdown
    assert process.wait(timeout=20) == 0

    assert fetch.status_code == 200
    assert change.headers["x-request-id"] == "change-0001"  # a valid incoming id is echoed
    assert forged.headers["x-request-id"] not in ("", "two words;x=1")
    lines = log_lines(tmp_path)
    for line in lines:
        assert EVERY_LINE_HAS <= line.keys(), line
        assert line["worker"] == process.pid
    by_request = _by_request(lines)

    [logged_in] = [
        x for x in by_request[login.headers["x-request-id"]] if x["logger"] == "magnaprov.graphql"
    ]
    assert logged_in["fields"] == ["login"] and logged_in["outcome"] == "ok"
    assert any(x["event"] == "login succeeded" for x in by_request[login.headers["x-request-id"]])

    [changed] = [x for x in by_request["change-0001"] if x["logger"] == "magnaprov.graphql"]
    assert changed["operation"] == "ChangeLinePassword"
    assert changed["account_id"] == tree["o1"].id and isinstance(changed["token_id"], int)
    assert changed["outcome"] == "ok" and changed["ms"] >= 0

    [access] = by_request[fetch.headers["x-request-id"]]
    assert access["logger"] == "magnaprov.access" and access["status"] == 200
    assert isinstance(access["device"], int) and access["route"] == "/prov/{key}/{file}"

    everything = (tmp_path / "stderr.log").read_text() + (tmp_path / "server.log").read_text()
    device_key = phone.url.split("/")[2]
    secrets = [ADMIN_PASSWORD, tree["o1"].password, SIP_PASSWORD, session_token, device_key]
    for secret in [*secrets, tree["o1"].token]:
        assert secret not in everything


async def _answers(http: httpx.AsyncClient) -> bool:
    return (await http.get("/healthz")).status_code == 200


def _by_request(lines: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        if line["request_id"] is not None:
            found.setdefault(line["request_id"], []).append(line)
    return found
