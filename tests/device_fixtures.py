"""Arranging devices for tests through the API."""

from __future__ import annotations

from typing import Any

PROVISION = """
mutation($extension: ID!, $name: String, $manufacturer: String, $model: String, $firmware: String,
         $appVersion: String, $mac: String, $macBased: Boolean, $generation: Boolean, $notes: String,
         $adminUser: String, $passwordGeneration: PasswordGeneration, $adminPassword: String,
         $adminPasswordConfirmation: String, $interval: Int, $protocol: UpdateProtocol,
         $template: ID, $regenerate: Boolean) {
  provisionDevice(extensionId: $extension, friendlyName: $name, manufacturer: $manufacturer,
      model: $model, firmware: $firmware, applicationVersion: $appVersion, mac: $mac,
      useMacBasedProvisioning: $macBased, fileGenerationEnabled: $generation, notes: $notes,
      adminUsername: $adminUser, passwordGeneration: $passwordGeneration,
      adminPassword: $adminPassword, adminPasswordConfirmation: $adminPasswordConfirmation,
      updateInterval: $interval, updateProtocol: $protocol, templateId: $template,
      regenerate: $regenerate) {
    device { id mac friendlyName updateProtocol updateInterval passwordGeneration adminPassword
             templateId viewerProvisioning
             macBasedProvisioning { inForce reason }
             provisioningLinks { kind protocol url }
             files { name size etag content } }
    regeneration { devices files failures { reason } }
    userErrors { field code message }
  }
}"""

YEALINK = {"manufacturer": "yealink", "model": "T46S", "firmware": "V81"}


def device_variables(extension_id: str, mac: str, **extra: Any) -> dict[str, Any]:
    """Variables for a Yealink T46S unless overridden."""
    return {"extension": extension_id, "name": "DeskPhone", "mac": mac, **YEALINK, **extra}


async def provision(
    gql: Any, token: str, extension_id: str, mac: str, **extra: Any
) -> dict[str, Any]:
    """The provisionDevice payload."""
    body = await gql(PROVISION, device_variables(extension_id, mac, **extra), token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["provisionDevice"]
    return payload
