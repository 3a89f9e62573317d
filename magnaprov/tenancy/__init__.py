"""Roles, permission rules, who-sees-whom, passwords and access tokens."""

from magnaprov.tenancy.credentials import (
    email_problem,
    fold_login,
    login_problem,
    password_problem,
    phone_password_problem,
)
from magnaprov.tenancy.device_secrets import may_see_device_secrets
from magnaprov.tenancy.passwords import PasswordHasher
from magnaprov.tenancy.permissions import (
    PermissionRow,
    Permissions,
    can_grant,
    effective_permissions,
    is_strict_ancestor,
    is_within,
)
from magnaprov.tenancy.secrets import SecretBox, SecretDecryptionError
from magnaprov.tenancy.tokens import hash_token, new_token
from magnaprov.tenancy.viewer import Viewer

__all__ = [
    "PasswordHasher",
    "PermissionRow",
    "Permissions",
    "SecretBox",
    "SecretDecryptionError",
    "Viewer",
    "can_grant",
    "effective_permissions",
    "email_problem",
    "fold_login",
    "hash_token",
    "is_strict_ancestor",
    "is_within",
    "login_problem",
    "may_see_device_secrets",
    "new_token",
    "password_problem",
    "phone_password_problem",
]
