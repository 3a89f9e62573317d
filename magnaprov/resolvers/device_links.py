"""The URLs a phone is given: its own directory, the shared root, TFTP, SPA profile rules."""

from __future__ import annotations

__all__ = ["device_url", "shared_root_url"]


def device_url(base_url: str, key: str) -> str:
    """The device's own directory, `<base>/prov/<key>/`."""
    return f"{base_url.rstrip('/')}/prov/{key}/"


def shared_root_url(base_url: str) -> str:
    """The shared root for MAC-based provisioning, `<base>/prov/`."""
    return f"{base_url.rstrip('/')}/prov/"
