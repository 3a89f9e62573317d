"""Where phones reach this server: the admin's public base URL, else where `serve` listens.

A fresh install has no public base URL: links and files then name the address and port `serve`
listens on (the HTTPS port for HTTPS devices when TLS is served), and TFTP links the TFTP
listener. Settings are the process's (`serve` writes its `--host/--port/...` flags into them),
so every command rendering files derives the same URLs.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from magnaprov.db import GlobalPreferences
from magnaprov.settings import Settings

__all__ = [
    "LEGACY_BASE_URL",
    "LEGACY_TFTP_HOST",
    "PublicAddress",
    "is_unreachable_host",
    "listening_host",
    "public_address",
]

# What earlier versions stored as the defaults: they mean "not chosen", like an empty value.
LEGACY_BASE_URL = "http://127.0.0.1:8000"
LEGACY_TFTP_HOST = "127.0.0.1"
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - names of the wildcard, not a bind
# A documentation address (RFC 5737): connecting a UDP socket to it sends nothing and yields the
# address of the interface that routes outwards.
_PROBE = ("192.0.2.1", 9)


@dataclass(frozen=True, slots=True)
class PublicAddress:
    """The bases of the URLs phones are given."""

    http_base: str  # scheme, host and port (and path) of HTTP links, without a trailing slash
    https_base: str
    tftp_host: str
    tftp_port: int
    base_url_derived: bool  # True: no public base URL chosen, derived from the listener
    tftp_host_derived: bool
    # TLS terminated by `serve`, or by a proxy in front of an https:// public base URL.
    https_served: bool

    def base(self, scheme: str) -> str:
        """The base for `http` or `https` links."""
        return self.https_base if scheme == "https" else self.http_base

    def tftp_url(self) -> str:
        """The TFTP link, with the port when it is not 69."""
        port = "" if self.tftp_port == 69 else f":{self.tftp_port}"
        return f"tftp://{_bracketed(self.tftp_host)}{port}/"


def public_address(preferences: GlobalPreferences, settings: Settings) -> PublicAddress:
    """The bases of the links, from the preferences where chosen, else from the settings."""
    chosen = preferences.base_url.strip().rstrip("/")
    host = listening_host(settings.host)
    if chosen and chosen != LEGACY_BASE_URL:
        # The chosen base serves both schemes (its host, port and path; the scheme swapped).
        http_base, https_base = _with_scheme(chosen, "http"), _with_scheme(chosen, "https")
        derived = False
        https_served = settings.tls_served or chosen.startswith("https://")
    else:
        http_base = f"http://{_bracketed(host)}:{settings.port}"
        https_port = settings.https_port if settings.tls_served else settings.port
        https_base = f"https://{_bracketed(host)}:{https_port}"
        derived = True
        https_served = settings.tls_served
    tftp_chosen = preferences.tftp_host.strip()
    tftp_derived = not tftp_chosen or tftp_chosen == LEGACY_TFTP_HOST
    tftp_host = listening_host(settings.tftp_host) if tftp_derived else tftp_chosen
    return PublicAddress(
        http_base,
        https_base,
        tftp_host,
        settings.tftp_port,
        base_url_derived=derived,
        tftp_host_derived=tftp_derived,
        https_served=https_served,
    )


def listening_host(host: str) -> str:
    """The address phones use for a listener on `host`: for a wildcard, this host's outward
    address (loopback when it has none)."""
    if host not in _WILDCARDS:
        return host
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_PROBE)
            found: str = probe.getsockname()[0]
            return found
    except OSError:
        return "127.0.0.1"


def is_unreachable_host(host: str) -> bool:
    """A loopback, wildcard or link-local address: no remote phone reaches it."""
    if host in _WILDCARDS or host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified or address.is_link_local


def _with_scheme(url: str, scheme: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((scheme, parts.netloc, parts.path, "", ""))


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
