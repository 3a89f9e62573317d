"""Per-request DataLoaders: one query per kind of lookup, however many fields ask."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from magnaprov.db import Account, SipPreferences
from magnaprov.resolvers.database import RequestDatabase
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

    async def _load_permissions(self, tree_paths: list[str]) -> Sequence[Permissions]:
        async with self._db.reading() as session:
            return await effective_permissions_for_paths(session, tree_paths)
