"""Use cases behind each query and mutation, one module per noun, and per-request loaders."""

from magnaprov.resolvers.database import RequestDatabase
from magnaprov.resolvers.errors import (
    ErrorCode,
    ExpectedError,
    InvalidArgument,
    Problems,
    UserError,
)
from magnaprov.resolvers.loaders import Loaders
from magnaprov.resolvers.pagination import Page
from magnaprov.resolvers.services import Services

__all__ = [
    "ErrorCode",
    "ExpectedError",
    "InvalidArgument",
    "Loaders",
    "Page",
    "Problems",
    "RequestDatabase",
    "Services",
    "UserError",
]
