"""Typed SQLAlchemy models, one module per noun, and the engine and session factory."""

from magnaprov.db.access_token import AccessToken, TokenKind
from magnaprov.db.account import Account
from magnaprov.db.base import Base, InTenantTree, utcnow
from magnaprov.db.engine import create_engine, create_session_factory, is_sqlite
from magnaprov.db.extension import Extension, ExtensionType
from magnaprov.db.roles import ProvisioningLevel, Role, child_role
from magnaprov.db.scoping import UNSCOPED, set_tree_scope
from magnaprov.db.sip_preferences import DEFAULT_CODECS, Codec, DtmfMode, SipPreferences

__all__ = [
    "DEFAULT_CODECS",
    "UNSCOPED",
    "AccessToken",
    "Account",
    "Base",
    "Codec",
    "DtmfMode",
    "Extension",
    "ExtensionType",
    "InTenantTree",
    "ProvisioningLevel",
    "Role",
    "SipPreferences",
    "TokenKind",
    "child_role",
    "create_engine",
    "create_session_factory",
    "is_sqlite",
    "set_tree_scope",
    "utcnow",
]
