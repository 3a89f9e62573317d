"""HTTPS served by `serve` itself: the server's TLS context, and the verified client
certificate handed to the app as the ASGI TLS extension (`scope["extensions"]["tls"]`).

uvicorn (0.55) verifies client certificates but does not put them in the scope: the HTTP
protocol below reads the peer certificate from the connection's SSL object once, when the
connection is made (after the handshake), and adds the extension to every request of it.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from magnaprov.settings import Settings
from magnaprov.tenancy.device_certificates import VendorAuthorities

__all__ = ["TlsScopeProtocol", "client_certificate", "server_context", "tls_extension"]

_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def server_context(settings: Settings, authorities: VendorAuthorities) -> ssl.SSLContext:
    """The server's certificate; with vendor CA bundles, an optional client certificate that
    must chain to one of them (a certificate that does not fails the handshake)."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        raise ValueError("MAGNAPROV_TLS_CERT_FILE and MAGNAPROV_TLS_KEY_FILE are both needed")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    for bundle in authorities.files:
        context.load_verify_locations(cafile=bundle)
    if authorities.files:
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def tls_extension(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> dict[str, object]:
    """The ASGI TLS extension of one connection; the chain holds the leaf only (Python before
    3.13 cannot read the rest of the verified chain)."""
    der = ssl_object.getpeercert(binary_form=True)
    chain = [ssl.DER_cert_to_PEM_cert(der)] if der else []
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,
    }


def client_certificate(scope: dict[str, Any] | Any) -> tuple[bool, str | None]:
    """Whether the request came over TLS, and its verified client certificate (PEM) if any."""
    tls = (scope.get("extensions") or {}).get("tls")
    if tls is None:
        return False, None
    chain = tls.get("client_cert_chain") or []
    return True, chain[0] if chain else None


class TlsScopeProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, adding the TLS extension to the scope of each request."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self.app = _with_extension(self.app, tls_extension(ssl_object))


def _with_extension(app: Any, extension: dict[str, object]) -> Any:
    async def with_tls(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "extensions": {**(scope.get("extensions") or {}), "tls": extension}}
        await app(scope, receive, send)

    return with_tls
