"""How much of an extension's SIP preferences a viewer may read and write."""

from __future__ import annotations

import enum

from magnaprov.tenancy.viewer import Viewer

__all__ = ["LIMITED_FIELDS", "SipAccess", "sip_access"]


class SipAccess(enum.StrEnum):
    """How much of the SIP preferences a viewer may read and write."""

    FULL = "FULL"
    LIMITED = "LIMITED"


# What a viewer without "Phone extension SIP management" may still see and change.
LIMITED_FIELDS = frozenset(
    {
        "phone_password",
        "phone_password_confirmation",
        "use_interface_password",
        "interface_password",
        "equipment_description",
    }
)


def sip_access(viewer: Viewer) -> SipAccess:
    """FULL for the admin and for viewers with effective SIP management, else LIMITED."""
    return (
        SipAccess.FULL
        if viewer.is_admin or viewer.permissions.sip_management
        else SipAccess.LIMITED
    )
