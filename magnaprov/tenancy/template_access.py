"""Who may see, change and choose provisioning templates.

Templates are private. A viewer sees its own templates and, with effective provisioning
MODIFY, its descendants', which it may also change; when provisioning a device it chooses
among the Server default and its own templates (a user has the Server default only).
"""

from __future__ import annotations

from magnaprov.db.roles import ProvisioningLevel, Role
from magnaprov.tenancy.viewer import Viewer

__all__ = [
    "manages_descendants_templates",
    "may_choose_own_templates",
    "may_modify_template",
    "may_see_template",
]


def manages_descendants_templates(viewer: Viewer) -> bool:
    """Effective provisioning MODIFY: the viewer may create and change templates."""
    return viewer.is_admin or viewer.permissions.provisioning is ProvisioningLevel.MODIFY


def may_see_template(viewer: Viewer, owner_id: int, tree_path: str) -> bool:
    """Whether the viewer may read the stored template owned by `owner_id` at `tree_path`."""
    if owner_id == viewer.account_id:
        return True
    return may_modify_template(viewer, tree_path)


def may_modify_template(viewer: Viewer, tree_path: str) -> bool:
    """Whether the viewer may rename, delete or change the files of the stored template at
    `tree_path` (the built-in Server default is read-only to everyone)."""
    return manages_descendants_templates(viewer) and viewer.sees(tree_path)


def may_choose_own_templates(viewer: Viewer) -> bool:
    """Whether the viewer may pick one of its own templates for a device (a user may not)."""
    return viewer.role is not Role.USER
