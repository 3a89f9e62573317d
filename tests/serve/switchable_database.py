"""An engine on the test database whose new connections can be made to fail, as in an outage."""

from __future__ import annotations

from typing import Any

import aiosqlite
import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from magnaprov.db import create_engine, is_sqlite


def switchable_engine(url: str) -> tuple[AsyncEngine, dict[str, bool]]:
    """An engine whose new connections fail while `state["down"]` is set."""
    state = {"down": False}
    parsed = make_url(url)
    if is_sqlite(url):
        path = parsed.database or ""

        async def connect() -> Any:
            if state["down"]:
                raise OSError("database down")
            return await aiosqlite.connect(path)

    else:
        dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)

        async def connect() -> Any:
            if state["down"]:
                raise OSError("database down")
            return await asyncpg.connect(dsn)

    return create_engine(url, poolclass=NullPool, async_creator=connect), state
