"""Arranging account templates straight in the database, skipping the checks of saving."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from magnaprov.db import Account, ProvisioningTemplate, TemplateFile

YEALINK_T46S = {"manufacturer": "yealink", "model": "T46S", "firmware": "V81"}


async def add_template(
    session: Any, owner_login: str, name: str, source: str, pattern: str = "{mac}.cfg"
) -> ProvisioningTemplate:
    """A template of `owner_login` with one Yealink T46S file, flushed in `session`.

    Bypasses `setTemplateFile` on purpose: a test may want a source that saving would refuse
    or render nothing yet.
    """
    owner = await session.scalar(select(Account).where(Account.login_key == owner_login))
    template = ProvisioningTemplate(owner_id=owner.id, tree_path=owner.tree_path, name=name)
    session.add(template)
    await session.flush()
    session.add(
        TemplateFile(template_id=template.id, pattern=pattern, source=source, **YEALINK_T46S)
    )
    await session.flush()
    return template
