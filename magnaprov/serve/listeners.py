"""`serve` with HTTPS: one process, one app, two uvicorn servers (plain HTTP and TLS).

The documented way of running uvicorn programmatically is `Server(Config(...)).serve()`; two
of them share the event loop and the app. The HTTP server runs the app's lifespan; the HTTPS
server starts once it has, and each stops when the other does (a signal reaches the handler
installed last only).
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn

from magnaprov.serve.app import create_served_app
from magnaprov.serve.tls import TlsScopeProtocol, server_context
from magnaprov.settings import Settings
from magnaprov.tenancy.device_certificates import VendorAuthorities

__all__ = ["serve_http_and_https"]

_POLL_SECONDS = 0.05


async def serve_http_and_https(settings: Settings, **options: Any) -> None:
    """Serve the app on `settings.port` and, over TLS, on `settings.https_port` until stopped.

    `options` are uvicorn `Config` options both servers share."""
    app = create_served_app()
    context = server_context(settings, VendorAuthorities.load(settings.device_ca_dir))
    plain = uvicorn.Server(
        uvicorn.Config(app, host=settings.host, port=settings.port, lifespan="on", **options)
    )
    secure = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.https_port,
            lifespan="off",
            http=TlsScopeProtocol,
            ssl_context_factory=lambda _config, _default: context,
            **options,
        )
    )
    plain_task = asyncio.create_task(plain.serve())
    # uvicorn's servers expose plain flags, no events: polled, as uvicorn's own main loop does.
    while not plain.started and not plain_task.done():  # noqa: ASYNC110
        await asyncio.sleep(_POLL_SECONDS)
    if plain_task.done():
        await plain_task
        return
    secure_task = asyncio.create_task(secure.serve())
    while not (plain.should_exit or secure.should_exit or secure_task.done()):  # noqa: ASYNC110
        await asyncio.sleep(_POLL_SECONDS)
    plain.should_exit = secure.should_exit = True
    await asyncio.gather(secure_task, plain_task)
