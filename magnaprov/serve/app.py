"""The ASGI app: /graphql, /healthz, /readyz, /metrics, and the device routes under /prov."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from magnaprov.db import create_engine, create_session_factory
from magnaprov.db.engine import COMMAND_TIMEOUT_SECONDS
from magnaprov.db.file_changes import install_change_hooks
from magnaprov.resolvers import Services
from magnaprov.schema import build_schema
from magnaprov.serve.access_log import open_access_log
from magnaprov.serve.contact_recorder import ContactRecorder
from magnaprov.serve.device_routes import DEVICE_PREFIX, DeviceRoutes, digest_authenticator
from magnaprov.serve.file_store import FileStore
from magnaprov.serve.gc_tuning import tune_garbage_collector
from magnaprov.serve.graphiql import load_graphiql
from magnaprov.serve.graphql_app import GraphQLEndpoint
from magnaprov.serve.graphql_metrics import GraphQLMetrics
from magnaprov.serve.health import health_endpoint
from magnaprov.serve.metrics import MetricsExposition, ServeMetrics
from magnaprov.serve.miss_guard import MissGuardSettings, create_miss_guard
from magnaprov.serve.readiness import ReadinessProbe, readiness_endpoint
from magnaprov.serve.request_ids import RequestIds
from magnaprov.serve.request_limits import GraphQLRequestLimits
from magnaprov.serve.shared_metrics import shared_folder
from magnaprov.serve.tftp_service import TftpService
from magnaprov.settings import Settings, get_settings
from magnaprov.tenancy.device_certificates import VendorAuthorities

__all__ = ["MagnaprovApp", "create_app", "create_served_app", "create_worker_app"]


def create_served_app() -> MagnaprovApp:
    """The app as `magnaprov serve` runs it with one worker: TFTP on the same event loop."""
    return create_app(tune_gc=True, tftp=True)


def create_worker_app() -> MagnaprovApp:
    """The app of one of several workers: TFTP runs once, in the supervising process."""
    return create_app(tune_gc=True)


def create_app(
    settings: Settings | None = None,
    engine: AsyncEngine | None = None,
    *,
    tune_gc: bool = False,
    tftp: bool = False,
) -> MagnaprovApp:
    """The ASGI app; it owns (and disposes of) its engine unless one is handed in.

    `tune_gc` freezes the objects alive at start-up (see `gc_tuning`): right for a serving
    process, wrong for one that builds many apps, such as the test suite. `tftp` runs the TFTP
    service (idle until the global preferences switch it on) on the app's event loop, sharing
    its file cache: a thread of its own would cost every HTTP request of the process a share of
    the interpreter lock."""
    settings = settings or get_settings()
    owns_engine = engine is None
    engine = engine or create_engine(settings.database_url, command_timeout=COMMAND_TIMEOUT_SECONDS)
    session_factory = create_session_factory(engine)
    services = Services.from_settings(settings)
    graphiql = load_graphiql()
    exposition = MetricsExposition(shared_folder())
    graphql = GraphQLEndpoint(
        build_schema(settings),
        session_factory,
        services,
        GraphQLMetrics(exposition.registry),
        graphiql,
        graphql_ide="graphiql",
    )

    install_change_hooks()
    store = FileStore(
        engine,
        services.secrets,
        max_bytes=settings.file_cache_max_bytes,
        max_devices=settings.file_cache_max_devices,
        ttl_seconds=settings.file_cache_ttl_seconds,
        database_timeout_seconds=settings.prov_database_timeout_seconds,
    )
    guard = create_miss_guard(
        MissGuardSettings(
            threshold=settings.miss_threshold,
            window_seconds=settings.miss_window_seconds,
            ban_seconds=settings.miss_ban_seconds,
            redis_url=settings.redis_url,
            trusted_networks=settings.trusted_client_networks,
        )
    )
    contacts = ContactRecorder(
        engine, settings.contact_flush_seconds, settings.contact_resolution_seconds
    )
    access_log = open_access_log(settings.access_log, json=settings.log_format == "json")
    metrics = ServeMetrics(guard, store, contacts, exposition)
    device_routes = DeviceRoutes(
        store,
        guard,
        contacts,
        metrics,
        digest_authenticator(services.secrets),
        ban_seconds=settings.miss_ban_seconds,
        access_log=access_log,
        authorities=VendorAuthorities.load(settings.device_ca_dir),
    )
    tftp_service = (
        TftpService.from_settings(settings, engine, store, contacts, access_log) if tftp else None
    )
    readiness = ReadinessProbe(engine, session_factory, services.secrets)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # No request (and no phone) is taken before the database answers at our schema.
        await readiness.wait_until_serving(settings.startup_wait_seconds)
        await store.start()
        await contacts.start()
        exposition.start()
        background = [
            asyncio.create_task(access_log.flush_periodically()),
            asyncio.create_task(exposition.publish_periodically()),
        ]
        if tftp_service is not None:
            background.append(asyncio.create_task(tftp_service.run()))
        if tune_gc:
            tune_garbage_collector()
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            access_log.close()
            await contacts.stop()  # writes the last contacts still buffered
            await store.stop()
            exposition.stop()
            await guard.close()
            await services.close()
            if owns_engine:
                await engine.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", health_endpoint(engine), methods=["GET", "HEAD"]),
            Route("/readyz", readiness_endpoint(readiness), methods=["GET", "HEAD"]),
            Route("/metrics", exposition.endpoint(), methods=["GET"]),
            Mount("/prov", app=device_routes),
            graphiql.route(),
        ],
        middleware=[
            Middleware(GraphQLRequestLimits, max_body_bytes=settings.graphql_max_body_bytes)
        ],
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.services = services
    app.state.file_store = store
    app.state.contacts = contacts
    app.state.miss_guard = guard
    app.state.tftp = tftp_service
    return MagnaprovApp(app, device_routes)


class MagnaprovApp:
    """The ASGI app: `/prov/...` straight to the device routes, everything else to Starlette.

    Phones are the hot path: a boot storm is thousands of small fetches a second, and each
    Starlette layer (error and limits middleware, router, mount) costs about as much as the
    route itself. The device routes need none of them: they parse their own path, answer every
    error themselves, give the request its id and log their own access line. Everything else
    gets its request id outside Starlette, so even a 500 of its error middleware carries it.
    """

    def __init__(self, starlette: Starlette, device_routes: DeviceRoutes) -> None:
        self.starlette = starlette
        self.state = starlette.state
        self.router = starlette.router  # its lifespan is the app's
        self._device_routes = device_routes
        self._with_request_ids = RequestIds(starlette)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(DEVICE_PREFIX):
            await self._device_routes(scope, receive, send)
        else:
            await self._with_request_ids(scope, receive, send)
