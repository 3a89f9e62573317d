"""`magnaprov demo`: a believable account tree to try the API with at once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from magnaprov.db import (
    UNSCOPED,
    Account,
    ExtensionType,
    PasswordGeneration,
    ProvisioningLevel,
    Role,
    set_tree_scope,
)
from magnaprov.resolvers.accounts import NewAccount, create_account
from magnaprov.resolvers.database import RequestDatabase
from magnaprov.resolvers.devices import DeviceFields, provision_device
from magnaprov.resolvers.extensions import NewExtension, create_extension
from magnaprov.resolvers.permissions import effective_permissions_for_paths
from magnaprov.resolvers.services import Services
from magnaprov.tenancy import Viewer

__all__ = ["DemoLogin", "create_demo_tree"]

_L = ProvisioningLevel


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """One account the demo made, with its password to print."""

    role: Role
    name: str
    login: str
    password: str


# (parent login, name, login, provisioning, SIP management)
_TREE: list[tuple[str, str, str, ProvisioningLevel, bool]] = [
    ("admin", "Northwind Telecom", "northwind", _L.MODIFY, True),
    ("admin", "Bluebay Voice", "bluebay", _L.VIEW, False),
    ("northwind", "Acme Dental", "acme", _L.MODIFY, True),
    ("northwind", "Harbor Logistics", "harbor", _L.VIEW, False),
    ("bluebay", "Cedar Law Office", "cedar", _L.VIEW, False),
    ("acme", "John Smith", "john.smith", _L.MODIFY, True),
    ("acme", "Maria Garcia", "maria.garcia", _L.VIEW, False),
    ("harbor", "Liam Chen", "liam.chen", _L.VIEW, False),
    ("harbor", "Emma Brown", "emma.brown", _L.NONE, False),
    ("cedar", "Noah Wilson", "noah.wilson", _L.VIEW, False),
    ("cedar", "Olivia Davis", "olivia.davis", _L.NONE, False),
]


async def create_demo_tree(
    session_factory: async_sessionmaker[AsyncSession], services: Services
) -> list[DemoLogin]:
    """Two providers, three organizations and six users under the admin, with permissions,
    and a provisioned phone of a different vendor for each user."""
    created: list[DemoLogin] = []
    async with session_factory() as session:
        ids = {"admin": await _admin_id(session)}
        if await session.scalar(
            select(Account.id).where(Account.login_key == "northwind").execution_options(**UNSCOPED)
        ):
            raise RuntimeError("the demo accounts exist already (login 'northwind')")
        admin_path = f"/{ids['admin']}/"
        [permissions] = await effective_permissions_for_paths(session, [admin_path])
        admin = Viewer(ids["admin"], Role.ADMIN, admin_path, permissions, token_id=0)
        set_tree_scope(session.sync_session, admin_path)
        db = RequestDatabase(session)
        for parent, name, login, level, sip in _TREE:
            password = secrets.token_urlsafe(12)
            new = NewAccount(ids[parent], name, login, password, f"{login}@example.com", level, sip)
            account, problems = await create_account(db, services, admin, new)
            if account is None:
                raise RuntimeError(f"demo account {login}: {problems.errors}")
            ids[login] = account.id
            created.append(DemoLogin(account.role, name, login, password))
        await _add_phones(db, services, admin, [ids[login] for _, _, login, _, _ in _TREE[5:]])
    return created


# One phone per user, across vendors, so the device routes can be tried at once.
_PHONES = [
    ("yealink", "T46S", "V81", "00:15:65:de:00:01"),
    ("polycom", "VVX400", "UCS", "00:04:f2:de:00:02"),
    ("snom", "D785", "10.x", "00:04:13:de:00:03"),
    ("grandstream", "GXP2135", "1.0.x", "00:0b:82:de:00:04"),
    ("fanvil", "X4", "2.x", "0c:38:3e:de:00:05"),
    ("panasonic", "KX-UT136", "STD", "00:80:f0:de:00:06"),
]


async def _add_phones(
    db: RequestDatabase, services: Services, admin: Viewer, user_ids: list[int]
) -> None:
    for user_id, (maker, model, firmware, mac) in zip(user_ids, _PHONES, strict=False):
        extension, problems = await create_extension(
            db, admin, NewExtension(user_id, ExtensionType.PHONE_TERMINAL, "Desk phone")
        )
        if extension is None:
            raise RuntimeError(f"demo extension: {problems.errors}")
        fields = DeviceFields(
            friendly_name="DeskPhone",
            manufacturer=maker,
            model=model,
            firmware=firmware,
            mac=mac,
            password_generation=PasswordGeneration.AUTO,
        )
        result = await provision_device(db, services, admin, None, extension.extension.id, fields)
        if result.device is None:
            raise RuntimeError(f"demo device {model}: {result.problems.errors}")


async def _admin_id(session: AsyncSession) -> int:
    admin_id = await session.scalar(
        select(Account.id).where(Account.role == Role.ADMIN).execution_options(**UNSCOPED)
    )
    if admin_id is None:
        raise RuntimeError(
            "there is no admin yet: run `magnaprov migrate` and `create-admin` first"
        )
    return admin_id
