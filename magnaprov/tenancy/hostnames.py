"""Validation of the host names, URLs and networks an admin types into preferences."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

__all__ = ["base_url_problem", "host_problem", "network_problem"]

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def host_problem(host: str) -> str | None:
    """Why `host` is neither an IP address nor a DNS name, or None."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return None
    labels = host.rstrip(".").split(".")
    if not host or len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return "Must be an IP address or a host name such as sip.example.com."
    return None


def base_url_problem(url: str) -> str | None:
    """Why `url` cannot be the public base of the device routes, or None."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "Must be an http:// or https:// URL such as https://prov.example.com."
    if parts.query or parts.fragment or parts.username or parts.password:
        return "Must not carry a query, a fragment or credentials."
    try:
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        return "The port must be a number from 1 to 65535."
    return host_problem(parts.hostname)


def network_problem(network: str) -> str | None:
    """Why `network` is not an address or CIDR network with zero host bits, or None."""
    try:
        ipaddress.ip_network(network, strict=True)
    except ValueError:
        return f"{network!r} is not an IP address or a network such as 192.0.2.0/24."
    return None
