"""The Starlette application: /graphql, /healthz (and later the device routes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.routing import Route

from magnaprov.db import create_engine, create_session_factory
from magnaprov.resolvers import Services
from magnaprov.schema import build_schema
from magnaprov.serve.graphiql import load_graphiql
from magnaprov.serve.graphql_app import GraphQLEndpoint
from magnaprov.serve.health import health_endpoint
from magnaprov.settings import Settings, get_settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> Starlette:
    """The ASGI app; it owns (and disposes of) its engine unless one is handed in."""
    settings = settings or get_settings()
    owns_engine = engine is None
    engine = engine or create_engine(settings.database_url)
    session_factory = create_session_factory(engine)
    services = Services.from_settings(settings)
    graphiql = load_graphiql()
    graphql = GraphQLEndpoint(
        build_schema(settings), session_factory, services, graphiql, graphql_ide="graphiql"
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if owns_engine:
            await engine.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", health_endpoint(engine), methods=["GET", "HEAD"]),
            graphiql.route(),
        ],
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.services = services
    return app
