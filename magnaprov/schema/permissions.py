"""Capabilities declared on fields: who may call them at all."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from magnaprov.schema.context import Info

__all__ = ["IsAuthenticated"]


class IsAuthenticated(BasePermission):
    """The caller sent a valid bearer token."""

    message = "Authentication required: send 'Authorization: Bearer <token>'."
    error_extensions: dict[str, Any] | None = {"code": "UNAUTHENTICATED"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer is not None
