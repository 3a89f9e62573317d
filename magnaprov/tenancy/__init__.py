"""Roles, permission rules, who-sees-whom and who may do what, passwords and access tokens."""

from magnaprov.tenancy.credentials import (
    email_problem,
    fold_login,
    login_problem,
    password_problem,
    phone_password_problem,
)
from magnaprov.tenancy.device_access import (
    MacBasedFields,
    MacBasedStatus,
    device_access,
    device_access_level,
    mac_based_status,
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
from magnaprov.tenancy.sip_access import LIMITED_FIELDS, SipAccess, sip_access
from magnaprov.tenancy.template_access import (
    manages_descendants_templates,
    may_choose_own_templates,
    may_modify_template,
    may_see_template,
)
from magnaprov.tenancy.tokens import hash_token, new_token
from magnaprov.tenancy.viewer import Viewer

__all__ = [
    "LIMITED_FIELDS",
    "MacBasedFields",
    "MacBasedStatus",
    "PasswordHasher",
    "PermissionRow",
    "Permissions",
    "SecretBox",
    "SecretDecryptionError",
    "SipAccess",
    "Viewer",
    "can_grant",
    "device_access",
    "device_access_level",
    "effective_permissions",
    "email_problem",
    "fold_login",
    "hash_token",
    "is_strict_ancestor",
    "is_within",
    "login_problem",
    "mac_based_status",
    "manages_descendants_templates",
    "may_choose_own_templates",
    "may_modify_template",
    "may_see_device_secrets",
    "may_see_template",
    "new_token",
    "password_problem",
    "phone_password_problem",
    "sip_access",
]
