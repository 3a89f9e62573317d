"""Typed SQLAlchemy models, one module per noun, and the engine and session factory."""

from magnaprov.db.access_token import AccessToken, TokenKind
from magnaprov.db.account import Account
from magnaprov.db.audit import AuditEntry
from magnaprov.db.base import Base, InTenantTree, utcnow
from magnaprov.db.device import Device, PasswordGeneration, RenderedFile, UpdateProtocol
from magnaprov.db.engine import (
    WRITER,
    begin_writing,
    create_engine,
    create_session_factory,
    is_sqlite,
)
from magnaprov.db.extension import Extension, ExtensionType
from magnaprov.db.global_preferences import GLOBAL_PREFERENCES_ID, GlobalPreferences
from magnaprov.db.provisioning_template import ProvisioningTemplate, TemplateFile
from magnaprov.db.roles import ProvisioningLevel, Role, child_role
from magnaprov.db.scoping import UNSCOPED, set_tree_scope, tree_scoped
from magnaprov.db.sip_preferences import DEFAULT_CODECS, Codec, DtmfMode, SipPreferences

__all__ = [
    "DEFAULT_CODECS",
    "GLOBAL_PREFERENCES_ID",
    "UNSCOPED",
    "WRITER",
    "AccessToken",
    "Account",
    "AuditEntry",
    "Base",
    "Codec",
    "Device",
    "DtmfMode",
    "Extension",
    "ExtensionType",
    "GlobalPreferences",
    "InTenantTree",
    "PasswordGeneration",
    "ProvisioningLevel",
    "ProvisioningTemplate",
    "RenderedFile",
    "Role",
    "SipPreferences",
    "TemplateFile",
    "TokenKind",
    "UpdateProtocol",
    "begin_writing",
    "child_role",
    "create_engine",
    "create_session_factory",
    "is_sqlite",
    "set_tree_scope",
    "tree_scoped",
    "utcnow",
]
