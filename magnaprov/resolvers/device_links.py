"""The URLs a phone is given: its own directory, the shared root, TFTP, SPA profile rules."""

from __future__ import annotations

from dataclasses import dataclass

from magnaprov.db import Device, UpdateProtocol
from magnaprov.resolvers.public_address import PublicAddress
from magnaprov.templating import Equipment

__all__ = ["ProvisioningLink", "device_url", "provisioning_links", "shared_root_url"]

# Cisco SPA and Linksys expand $MA to the MAC in lower case without separators.
SPA_MAC_MACRO = "$MA"


@dataclass(frozen=True, slots=True)
class ProvisioningLink:
    """One URL to configure in the phone (or DHCP option 66)."""

    kind: str  # DEVICE_DIRECTORY, SHARED_ROOT, TFTP, PROFILE_RULE
    protocol: str
    url: str


def device_url(address: PublicAddress, key: str, scheme: str) -> str:
    """The device's own directory, `<base>/prov/<key>/`."""
    return f"{address.base(scheme)}/prov/{key}/"


def shared_root_url(address: PublicAddress, scheme: str) -> str:
    """The shared root for MAC-based provisioning, `<base>/prov/`."""
    return f"{address.base(scheme)}/prov/"


def provisioning_links(
    device: Device,
    key: str,
    equipment: Equipment,
    address: PublicAddress,
    mac_based_in_force: bool,
) -> list[ProvisioningLink]:
    """The links of a device, in the form its vendor needs; none while generation is off."""
    if not device.generation_enabled:
        return []
    protocol = device.update_protocol
    if protocol is UpdateProtocol.TFTP:
        return [ProvisioningLink("TFTP", "TFTP", address.tftp_url())]
    scheme = protocol.value.lower()
    directory = device_url(address, key, scheme)
    root = shared_root_url(address, scheme)
    links = [ProvisioningLink("DEVICE_DIRECTORY", protocol.value, directory)]
    if mac_based_in_force:
        links.append(ProvisioningLink("SHARED_ROOT", protocol.value, root))
    if equipment.model.link_style == "spa_profile_rule":
        spec = next(spec for spec in equipment.firmware.files if spec.per_device)
        name = spec.pattern.replace("{mac}", SPA_MAC_MACRO)
        base = root if mac_based_in_force else directory
        links.append(ProvisioningLink("PROFILE_RULE", protocol.value, f"{base}{name}"))
    return links
