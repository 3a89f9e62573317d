"""The devices a viewer may at least view, as a condition of a query."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from magnaprov.db import Extension, ProvisioningLevel
from magnaprov.tenancy import Viewer, device_access_level

__all__ = ["visible_devices_filter"]


def visible_devices_filter(viewer: Viewer) -> ColumnElement[bool]:
    """SQL condition on `Extension` for devices the viewer may at least view.

    Derived from tenancy's rule, the lower of two levels: a viewer who reaches even a MODIFY
    extension with NONE sees no device, one who reaches a NONE extension with more sees every
    device, and any other sees the devices of extensions whose own level is not NONE.
    """
    if device_access_level(viewer, ProvisioningLevel.MODIFY) is ProvisioningLevel.NONE:
        return false()
    if device_access_level(viewer, ProvisioningLevel.NONE) is not ProvisioningLevel.NONE:
        return true()
    return Extension.provisioning != ProvisioningLevel.NONE
