"""Per-request DataLoaders: one query per kind of lookup, however many fields ask."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import defer
from strawberry.dataloader import DataLoader

from magnaprov.db import (
    UNSCOPED,
    Account,
    Device,
    Extension,
    GlobalPreferences,
    ProvisioningTemplate,
    RenderedFile,
    SipPreferences,
    TemplateFile,
)
from magnaprov.resolvers.database import RequestDatabase
from magnaprov.resolvers.global_preferences import load_global_preferences
from magnaprov.resolvers.permissions import effective_permissions_for_paths
from magnaprov.tenancy import Permissions

__all__ = ["Loaders"]


class Loaders:
    """The loaders of one request; each batches the keys asked for in one tick."""

    def __init__(self, db: RequestDatabase) -> None:
        self._db = db
        self.account_by_id = DataLoader[int, Account | None](self._load_accounts)
        self.effective_permissions = DataLoader[str, Permissions](self._load_permissions)
        self.sip_preferences = DataLoader[int, SipPreferences | None](self._load_sip_preferences)
        self.device_by_extension = DataLoader[int, Device | None](self._load_devices)
        self.files_by_device = DataLoader[int, list[RenderedFile]](self._load_files)
        self.extension_by_id = DataLoader[int, Extension | None](self._load_extensions)
        self.template_files = DataLoader[int, list[TemplateFile]](self._load_template_files)
        self.template_name = DataLoader[int, str](self._load_template_names)
        self._preferences: GlobalPreferences | None = None

    async def global_preferences(self) -> GlobalPreferences:
        """The global preferences, read once per request."""
        if self._preferences is None:
            async with self._db.reading() as session:
                self._preferences = await load_global_preferences(session)
        return self._preferences

    async def _load_accounts(self, ids: list[int]) -> Sequence[Account | None]:
        async with self._db.reading() as session:
            rows = await session.scalars(select(Account).where(Account.id.in_(ids)))
            by_id = {row.id: row for row in rows}
        return [by_id.get(account_id) for account_id in ids]

    async def _load_sip_preferences(
        self, extension_ids: list[int]
    ) -> Sequence[SipPreferences | None]:
        async with self._db.reading() as session:
            rows = await session.scalars(
                select(SipPreferences).where(SipPreferences.extension_id.in_(extension_ids))
            )
            by_id = {row.extension_id: row for row in rows}
        return [by_id.get(extension_id) for extension_id in extension_ids]

    async def _load_devices(self, extension_ids: list[int]) -> Sequence[Device | None]:
        async with self._db.reading() as session:
            rows = await session.scalars(
                select(Device).where(Device.extension_id.in_(extension_ids))
            )
            by_extension = {row.extension_id: row for row in rows}
        return [by_extension.get(extension_id) for extension_id in extension_ids]

    async def _load_extensions(self, ids: list[int]) -> Sequence[Extension | None]:
        async with self._db.reading() as session:
            rows = await session.scalars(select(Extension).where(Extension.id.in_(ids)))
            by_id = {row.id: row for row in rows}
        return [by_id.get(extension_id) for extension_id in ids]

    async def _load_files(self, device_ids: list[int]) -> Sequence[list[RenderedFile]]:
        # Metadata only: file contents are loaded on demand, for viewers who may read them.
        async with self._db.reading() as session:
            rows = await session.scalars(
                select(RenderedFile)
                .options(defer(RenderedFile.content))
                .where(RenderedFile.device_id.in_(device_ids))
                .order_by(RenderedFile.device_id, RenderedFile.id)
            )
            by_device: dict[int, list[RenderedFile]] = {device_id: [] for device_id in device_ids}
            for row in rows:
                by_device[row.device_id].append(row)
        return [by_device[device_id] for device_id in device_ids]

    async def _load_template_names(self, template_ids: list[int]) -> Sequence[str]:
        # Unscoped on purpose: a user sees its device's template name, not the template itself.
        async with self._db.reading() as session:
            rows = await session.execute(
                select(ProvisioningTemplate.id, ProvisioningTemplate.name)
                .where(ProvisioningTemplate.id.in_(template_ids))
                .execution_options(**UNSCOPED)
            )
            names = {row.id: row.name for row in rows}
        return [names.get(template_id, "") for template_id in template_ids]

    async def _load_permissions(self, tree_paths: list[str]) -> Sequence[Permissions]:
        async with self._db.reading() as session:
            return await effective_permissions_for_paths(session, tree_paths)

    async def _load_template_files(self, template_ids: list[int]) -> Sequence[list[TemplateFile]]:
        async with self._db.reading() as session:
            rows = await session.scalars(
                select(TemplateFile)
                .where(TemplateFile.template_id.in_(template_ids))
                .order_by(
                    TemplateFile.manufacturer,
                    TemplateFile.model,
                    TemplateFile.firmware,
                    TemplateFile.pattern,
                )
            )
            by_template: dict[int, list[TemplateFile]] = {key: [] for key in template_ids}
            for row in rows:
                by_template[row.template_id].append(row)
        return [by_template[key] for key in template_ids]
