"""Arranging extensions for tests through the API."""

from __future__ import annotations

from typing import Any

CREATE_EXTENSION = """
mutation($owner: ID!, $type: ExtensionType!, $name: String!, $number: String,
         $provisioning: ProvisioningLevel, $chat: Boolean) {
  createExtension(ownerId: $owner, type: $type, name: $name, number: $number,
                  provisioning: $provisioning, chatServerAccess: $chat) {
    extension { id number fullNumber provisioning chatServerAccess owner { login } }
    message provisionNext userErrors { field code message }
  }
}"""


async def create_extension(
    gql: Any,
    token: str,
    owner_gid: str,
    name: str = "John Smith",
    type_: str = "PHONE_TERMINAL",
    **extra: Any,
) -> dict[str, Any]:
    """The createExtension payload."""
    variables = {"owner": owner_gid, "type": type_, "name": name, **extra}
    body = await gql(CREATE_EXTENSION, variables, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["createExtension"]
    return payload
