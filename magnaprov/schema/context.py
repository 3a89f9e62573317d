"""The per-request Context every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry

from magnaprov.resolvers import Loaders, RequestDatabase, Services
from magnaprov.resolvers.errors import ExpectedError
from magnaprov.tenancy import Viewer

__all__ = ["Context", "Info", "NotAuthenticated"]


class NotAuthenticated(ExpectedError):
    """The operation needs a valid bearer token and the request had none."""

    def __init__(self) -> None:
        super().__init__(
            "Authentication required: send 'Authorization: Bearer <token>'.", "UNAUTHENTICATED"
        )


@dataclass(slots=True)
class Context:
    """Who is calling, with which session, resolved once per request."""

    db: RequestDatabase
    services: Services
    viewer: Viewer | None
    loaders: Loaders
    client_address: str | None

    def require_viewer(self) -> Viewer:
        """The authenticated viewer; NotAuthenticated otherwise."""
        if self.viewer is None:
            raise NotAuthenticated
        return self.viewer


Info = strawberry.Info[Context, None]
