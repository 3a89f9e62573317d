"""Switching TFTP on needs the client networks it answers: there is no default to everyone."""

from __future__ import annotations

from typing import Any

import pytest
from account_tree import Member, build_tree

from magnaprov.db import GLOBAL_PREFERENCES_ID, GlobalPreferences
from magnaprov.serve.contact_recorder import ContactRecorder
from magnaprov.serve.file_store import FileStore
from magnaprov.serve.tftp_service import TftpService

UPDATE = """mutation($tftp: Boolean, $networks: [String!]) {
  updateGlobalPreferences(tftpEnabled: $tftp, tftpAllowedNetworks: $networks) {
    globalPreferences { tftpEnabled tftpAllowedNetworks }
    userErrors { field code message } } }"""
READ = "query { globalPreferences { tftpEnabled tftpAllowedNetworks } }"


@pytest.fixture
async def tree(session_factory: Any, services: Any) -> dict[str, Member]:
    return await build_tree(session_factory, services, [])


async def _update(gql: Any, admin: Member, **variables: Any) -> dict[str, Any]:
    body = await gql(UPDATE, variables, token=admin.token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["updateGlobalPreferences"]
    return payload


async def _stored(gql: Any, admin: Member) -> dict[str, Any]:
    body = await gql(READ, token=admin.token)
    preferences: dict[str, Any] = body["data"]["globalPreferences"]
    return preferences


async def test_switching_tftp_on_without_networks_is_refused_naming_the_field(gql, tree):
    payload = await _update(gql, tree["admin"], tftp=True)
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        ("tftpAllowedNetworks", "REQUIRED")
    ]
    assert "tftpAllowedNetworks" in payload["userErrors"][0]["message"]
    assert await _stored(gql, tree["admin"]) == {"tftpEnabled": False, "tftpAllowedNetworks": []}


async def test_an_empty_list_does_not_open_tftp_to_everyone(gql, tree):
    payload = await _update(gql, tree["admin"], tftp=True, networks=[])
    assert [e["field"] for e in payload["userErrors"]] == ["tftpAllowedNetworks"]
    assert (await _stored(gql, tree["admin"]))["tftpEnabled"] is False


async def test_tftp_on_with_networks_is_saved_and_they_cannot_be_removed_while_on(gql, tree):
    admin = tree["admin"]
    payload = await _update(gql, admin, tftp=True, networks=["192.0.2.0/24"])
    assert payload["userErrors"] == []
    assert payload["globalPreferences"] == {
        "tftpEnabled": True,
        "tftpAllowedNetworks": ["192.0.2.0/24"],
    }
    cleared = await _update(gql, admin, networks=[])
    assert [e["field"] for e in cleared["userErrors"]] == ["tftpAllowedNetworks"]
    off = await _update(gql, admin, tftp=False, networks=[])
    assert off["userErrors"] == []
    assert off["globalPreferences"] == {"tftpEnabled": False, "tftpAllowedNetworks": []}


async def test_a_stored_switch_without_networks_starts_no_server(engine, services, session_factory):
    async with session_factory() as session:  # as a row written before the rule would be
        session.add(
            GlobalPreferences(id=GLOBAL_PREFERENCES_ID, tftp_enabled=True, tftp_allowed_networks="")
        )
        await session.commit()
    store = FileStore(engine, services.secrets)
    service = TftpService(engine, store, ContactRecorder(engine, 3600), host="127.0.0.1", port=0)
    await store.start()
    try:
        await service.reconcile()
        assert service.server is None
    finally:
        await service.stop()
        await store.stop()
