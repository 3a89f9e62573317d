"""Typed SQLAlchemy models, one module per noun, and the engine and session factory."""

from magnaprov.db.access_token import AccessToken, TokenKind
from magnaprov.db.account import Account
from magnaprov.db.base import Base, InTenantTree, utcnow
from magnaprov.db.engine import create_engine, create_session_factory, is_sqlite
from magnaprov.db.roles import ProvisioningLevel, Role, child_role
from magnaprov.db.scoping import UNSCOPED, set_tree_scope

__all__ = [
    "UNSCOPED",
    "AccessToken",
    "Account",
    "Base",
    "InTenantTree",
    "ProvisioningLevel",
    "Role",
    "TokenKind",
    "child_role",
    "create_engine",
    "create_session_factory",
    "is_sqlite",
    "set_tree_scope",
    "utcnow",
]
