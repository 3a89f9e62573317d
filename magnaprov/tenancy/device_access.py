"""Who may see or change a device, and whether MAC-based provisioning is in force."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from magnaprov.db import Extension, ProvisioningLevel, UpdateProtocol
from magnaprov.tenancy.viewer import Viewer

__all__ = [
    "MacBasedFields",
    "MacBasedStatus",
    "device_access",
    "device_access_level",
    "mac_based_status",
]


def device_access(viewer: Viewer, extension: Extension) -> ProvisioningLevel:
    """The admin always may; otherwise the lower of the viewer's level and the extension's."""
    return device_access_level(viewer, extension.provisioning)


def device_access_level(viewer: Viewer, extension_level: ProvisioningLevel) -> ProvisioningLevel:
    """`device_access` for an extension whose "Allow to provision devices" is `extension_level`."""
    if viewer.is_admin:
        return ProvisioningLevel.MODIFY
    return viewer.permissions.provisioning.cap(extension_level)


@dataclass(frozen=True, slots=True)
class MacBasedStatus:
    """Whether the shared root serves this device, and if not, why."""

    in_force: bool
    reason: str | None


class MacBasedFields(Protocol):
    """What the rule reads of a device: a `Device`, or a row of the same columns."""

    generation_enabled: bool
    use_mac_provisioning: bool
    update_protocol: UpdateProtocol
    digest_password: bytes | None


def mac_based_status(device: MacBasedFields, allowed: bool) -> MacBasedStatus:
    """MAC-based provisioning is in force only with the global opt-in (`allowed`, the global
    preference `allow_mac_provisioning`), the device's flag, an HTTP(S) update protocol and no
    HTTP authentication.

    The shared root never challenges: a 401 there would tell a scanner that the MAC it tried
    belongs to a device, so a device that needs credentials is served from its own directory
    only."""
    if not device.generation_enabled:
        return MacBasedStatus(False, "Provisioning file generation is disabled for this device.")
    if not allowed:
        return MacBasedStatus(
            False, 'The global preference "Allow MAC based provisioning on HTTP(S)" is off.'
        )
    if not device.use_mac_provisioning:
        return MacBasedStatus(
            False, '"Use MAC based provisioning" is not selected for this device.'
        )
    if device.update_protocol is UpdateProtocol.TFTP:
        return MacBasedStatus(
            False, "MAC based provisioning works over HTTP or HTTPS; this device uses TFTP."
        )
    if device.digest_password is not None:
        return MacBasedStatus(
            False,
            "HTTP authentication is on: this device is served from its own directory only.",
        )
    return MacBasedStatus(True, None)
