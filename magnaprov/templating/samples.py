"""Sample render data: for previews, for the test render on save, and for tests.

The values are distinctive on purpose, so a test can tell when one of them
(a password, a user, a name) ends up in a file that should not carry it.
"""

from __future__ import annotations

from .catalog import Equipment, UpdateProtocol
from .context import (
    AccountInfo,
    DeviceInfo,
    DeviceRenderInput,
    ExtensionInfo,
    LineInfo,
    OrganizationInfo,
    ServerInfo,
    SipPreferences,
)

__all__ = ["SAMPLE_DEVICE_KEY", "sample_render_input"]

SAMPLE_DEVICE_KEY = "SampleDeviceKey7f3a9c2e41b8d605"


def sample_render_input(equipment: Equipment | None = None) -> DeviceRenderInput:
    """A complete, plausible device; its MAC and protocol fit ``equipment`` when given."""
    prefix = equipment.manufacturer.mac_prefixes[0] if equipment else "00:15:65"
    protocols: tuple[UpdateProtocol, ...] = equipment.model.protocols if equipment else ("HTTPS",)
    protocol: UpdateProtocol = "HTTPS" if "HTTPS" in protocols else protocols[0]
    needs_version = equipment is not None and equipment.firmware.requires_application_version
    return DeviceRenderInput(
        account=AccountInfo(name="Sample Reseller Ltd", login="sample.reseller"),
        organization=OrganizationInfo(name="Sample Organization", code="0027"),
        extension=ExtensionInfo(number="001", full_number="0027*001", name="Alice Sample"),
        line=LineInfo(
            user="0027*001",
            auth_user="0027*001",
            password="Sample-Phone-Pass-7",  # noqa: S106 - sample data
            display_name="Alice Sample",
            registrar_host="sip.example.test",
            registrar_port=5060,
            transport="udp",
        ),
        device=DeviceInfo(
            mac=f"{prefix}:12:34:56",
            friendly_name="AliceDesk",
            manufacturer=equipment.manufacturer.key if equipment else "yealink",
            model=equipment.model.key if equipment else "T46S",
            firmware=equipment.firmware.key if equipment else "V81",
            application_version="P0S3-08-11-00" if needs_version else "",
            admin_user="admin",
            admin_password="Sample-Admin-Pass-9",  # noqa: S106 - sample data
            update_interval=10,
            protocol=protocol,
            provisioning_url=f"https://prov.example.test/prov/{SAMPLE_DEVICE_KEY}/",
            root_url="https://prov.example.test/prov/",
            tftp_host="prov.example.test",
        ),
        server=ServerInfo(time_zone="Europe/Paris", ntp_server="pool.ntp.example.test"),
        sip=SipPreferences(
            dtmf_mode="rfc2833",
            codecs=("G722", "PCMA", "PCMU"),
            nat_keepalive=True,
            presence=False,
            direct_media=False,
            forced_mwi=False,
            equipment_description="Sample desk phone",
        ),
    )
