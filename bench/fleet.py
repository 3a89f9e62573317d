"""A fleet of provisioned devices for the benchmarks, written straight into a database.

Accounts, extensions, SIP preferences and devices are inserted in bulk (the API would take
minutes for ten thousand phones); the files are then rendered by the product's own
`render_devices`, exactly as a bulk regeneration does.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import secrets as random_secrets
from dataclasses import dataclass

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from magnaprov.db import (
    Account,
    Device,
    Extension,
    ExtensionType,
    ProvisioningLevel,
    RenderedFile,
    Role,
    SipPreferences,
    UpdateProtocol,
    create_session_factory,
)
from magnaprov.db.migrations import upgrade_to_head
from magnaprov.resolvers import Services
from magnaprov.resolvers.devices import new_device_key, set_device_key
from magnaprov.resolvers.regeneration import regenerate_in_bulk
from magnaprov.settings import Settings

__all__ = [
    "BENCH_KEYRING",
    "EQUIPMENT",
    "Fleet",
    "FleetDevice",
    "bench_settings",
    "build_fleet",
    "scratch_database",
]

BENCH_KEYRING = "benchkey:" + base64.b64encode(bytes(range(32, 64))).decode()
POSTGRES_ADMIN_URL = os.environ.get(
    "MAGNAPROV_BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# One common model per vendor: the mix of a real hosted PBX.
EQUIPMENT = [
    ("yealink", "T46S", "V81", "00:15:65"),
    ("polycom", "VVX400", "UCS", "00:04:f2"),
    ("snom", "D785", "10.x", "00:04:13"),
    ("aastra", "6731i", "3.x", "00:08:5d"),
    ("grandstream", "GXP2135", "1.0.x", "00:0b:82"),
    ("fanvil", "X4", "2.x", "0c:38:3e"),
    ("panasonic", "KX-UT136", "STD", "00:80:f0"),
    ("cisco", "SPA504G", "SPA7", "00:02:fd"),
]


@dataclass(frozen=True, slots=True)
class FleetDevice:
    """What a benchmark client needs to fetch a device's files."""

    device_id: int
    key: str
    mac: str
    manufacturer: str
    model: str
    files: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Fleet:
    """The devices of a built fleet and the admin's credentials."""

    devices: list[FleetDevice]
    admin_password: str


def bench_settings(database_url: str) -> Settings:
    """Settings of a benchmark run: cheap hashing (not what is measured), a fixed keyring."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=database_url,
        secrets_keys=BENCH_KEYRING,
        argon2_time_cost=1,
        argon2_memory_kib=64,
        argon2_parallelism=1,
    )


class scratch_database:
    """A throwaway migrated database: an SQLite file, or a PostgreSQL database dropped after."""

    def __init__(self, kind: str, folder: str) -> None:
        self.kind = kind
        self.folder = folder
        self.name = f"magnaprov_bench_{os.getpid()}_{random_secrets.token_hex(3)}"
        self.url = ""

    async def __aenter__(self) -> str:
        if self.kind == "sqlite":
            self.url = f"sqlite+aiosqlite:///{self.folder}/{self.name}.db"
        else:
            await _admin(f'CREATE DATABASE "{self.name}"')
            url = make_url(POSTGRES_ADMIN_URL).set(
                drivername="postgresql+asyncpg", database=self.name
            )
            self.url = url.render_as_string(hide_password=False)
        await asyncio.to_thread(upgrade_to_head, self.url)
        return self.url

    async def __aexit__(self, *_exc: object) -> None:
        if self.kind == "postgresql":
            await _admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def build_fleet(engine: AsyncEngine, settings: Settings, devices: int) -> Fleet:
    """`devices` provisioned phones across organizations and vendors, files rendered."""
    services = Services.from_settings(settings)
    factory = create_session_factory(engine)
    password_hash = await services.hasher.hash("Bench-Password-1")
    async with factory() as session, session.begin():
        admin = await _account(session, None, Role.ADMIN, "admin", password_hash, "/")
        provider = await _account(session, admin, Role.PROVIDER, "bench-provider", password_hash)
        organizations = [
            await _account(
                session,
                provider,
                Role.ORGANIZATION,
                f"bench-org-{n}",
                password_hash,
                code=f"{n + 1:04d}",
            )
            for n in range(max(1, devices // 900 + 1))
        ]
        users = [
            await _account(
                session,
                organizations[n % len(organizations)],
                Role.USER,
                f"bench-user-{n}",
                password_hash,
            )
            for n in range(max(1, devices // 20))
        ]
    fleet: list[FleetDevice] = []
    numbers = {org.id: itertools.count(1) for org in organizations}
    orgs_by_id = {org.id: org for org in organizations}
    async with factory() as session, session.begin():
        for n in range(devices):
            user = users[n % len(users)]
            organization = orgs_by_id[user.parent_id or 0]
            number = f"{next(numbers[organization.id]):03d}"
            extension = Extension(
                owner_id=user.id,
                organization_id=organization.id,
                tree_path=user.tree_path,
                type=ExtensionType.PHONE_TERMINAL,
                name=f"Bench {n}",
                number=number,
                full_number=f"{organization.code}*{number}",
                provisioning=ProvisioningLevel.MODIFY,
            )
            session.add(extension)
            await session.flush()
            preferences = SipPreferences(extension_id=extension.id)
            session.add(preferences)
            await session.flush()
            preferences.phone_password = services.secrets.encrypt(
                f"Sip-Pass-{n:06d}", preferences.password_identity()
            )
            maker, model, firmware, oui = EQUIPMENT[n % len(EQUIPMENT)]
            mac = f"{oui}:{(n >> 16) & 255:02x}:{(n >> 8) & 255:02x}:{n & 255:02x}"
            device = Device(
                extension_id=extension.id,
                tree_path=user.tree_path,
                friendly_name=f"Bench{n}",
                manufacturer=maker,
                model=model,
                firmware=firmware,
                mac=mac,
                update_protocol=UpdateProtocol.HTTP,
                key_hash=random_secrets.token_hex(32),
                key_secret=b"",
            )
            session.add(device)
            await session.flush()
            key = new_device_key()
            set_device_key(device, services.secrets, key)
            fleet.append(FleetDevice(device.id, key, mac, maker, model, ()))
    await regenerate_in_bulk(factory, services.secrets)
    # Fresh planner statistics, as autovacuum would gather after such a load: without them
    # PostgreSQL plans the fleet's joins as if the tables were empty.
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    return Fleet(await _with_files(engine, fleet), "Bench-Password-1")


async def _with_files(engine: AsyncEngine, fleet: list[FleetDevice]) -> list[FleetDevice]:
    names: dict[int, list[str]] = {}
    async with engine.connect() as connection:
        for device_id, name in await connection.execute(
            select(RenderedFile.device_id, RenderedFile.name)
        ):
            names.setdefault(device_id, []).append(name)
    return [
        FleetDevice(
            d.device_id, d.key, d.mac, d.manufacturer, d.model, tuple(names.get(d.device_id, ()))
        )
        for d in fleet
    ]


async def _account(
    session: AsyncSession,
    parent: Account | None,
    role: Role,
    login: str,
    password_hash: str,
    path: str | None = None,
    code: str | None = None,
) -> Account:
    account = Account(
        parent_id=None if parent is None else parent.id,
        role=role,
        name=login.title(),
        login=login,
        login_key=login,
        password_hash=password_hash,
        code=code,
        provisioning=ProvisioningLevel.MODIFY,
        sip_management=True,
        tree_path="/pending/",
    )
    session.add(account)
    await session.flush()
    account.tree_path = f"{parent.tree_path if parent else '/'}{account.id}/"
    return account
