"""Who may see what leads to a device's files: its key, links, contents and credentials.

A device's files hold its line and admin passwords, and anything naming its key (the
directory link, a profile rule, a file with the URL in it) or letting the phone's own
routes answer (HTTP Digest credentials, the MAC-based shared root) is as good as the files.
All of it is for viewers who may modify the device; with VIEW a viewer sees that the phone
exists, its equipment, status and last contact, and no path to any byte of its files.
"""

from __future__ import annotations

from magnaprov.db.roles import ProvisioningLevel

__all__ = ["may_see_device_secrets"]


def may_see_device_secrets(access: ProvisioningLevel) -> bool:
    """Whether a viewer whose access to a device is `access` may see its key, links, file
    contents, admin password and HTTP Digest credentials."""
    return access is ProvisioningLevel.MODIFY
