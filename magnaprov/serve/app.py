"""The Starlette application: /graphql, /healthz, /metrics and the device routes under /prov."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route

from magnaprov.db import create_engine, create_session_factory
from magnaprov.db.engine import COMMAND_TIMEOUT_SECONDS
from magnaprov.db.file_changes import install_change_hooks
from magnaprov.resolvers import Services
from magnaprov.schema import build_schema
from magnaprov.serve.contact_recorder import ContactRecorder
from magnaprov.serve.device_routes import DeviceRoutes, digest_authenticator
from magnaprov.serve.file_store import FileStore
from magnaprov.serve.graphiql import load_graphiql
from magnaprov.serve.graphql_app import GraphQLEndpoint
from magnaprov.serve.health import health_endpoint
from magnaprov.serve.metrics import ServeMetrics, metrics_endpoint
from magnaprov.serve.miss_guard import MissGuardSettings, create_miss_guard
from magnaprov.serve.request_limits import GraphQLRequestLimits
from magnaprov.settings import Settings, get_settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> Starlette:
    """The ASGI app; it owns (and disposes of) its engine unless one is handed in."""
    settings = settings or get_settings()
    owns_engine = engine is None
    engine = engine or create_engine(settings.database_url, command_timeout=COMMAND_TIMEOUT_SECONDS)
    session_factory = create_session_factory(engine)
    services = Services.from_settings(settings)
    graphiql = load_graphiql()
    graphql = GraphQLEndpoint(
        build_schema(settings), session_factory, services, graphiql, graphql_ide="graphiql"
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
        )
    )
    contacts = ContactRecorder(engine, settings.contact_flush_seconds)
    metrics = ServeMetrics(guard, store, contacts)
    device_routes = DeviceRoutes(
        store,
        guard,
        contacts,
        metrics,
        digest_authenticator(services.secrets),
        ban_seconds=settings.miss_ban_seconds,
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await store.start()
        await contacts.start()
        try:
            yield
        finally:
            await contacts.stop()  # writes the last contacts still buffered
            await store.stop()
            await guard.close()
            if owns_engine:
                await engine.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", health_endpoint(engine), methods=["GET", "HEAD"]),
            Route("/metrics", metrics_endpoint(metrics), methods=["GET"]),
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
    return app
