"""MAC addresses claimed by two tenants: throttled probing, audit of both sides, release.

A MAC is unique across every tenant, so "already used" tells a tenant that some phone elsewhere
has it. That answer stays (the spec's error), but an account meeting more than a few such
conflicts within a window is refused further MAC checks, every conflict is audited for both
sides without naming the other (the admin reads both), and the admin may release a MAC from
the device holding it so that its rightful owner can provision it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select

from magnaprov.db import UNSCOPED, Device, Extension
from magnaprov.resolvers import device_rules as rules
from magnaprov.resolvers.audit import NOBODY, actor_of, add_entry, record
from magnaprov.resolvers.database import RequestDatabase
from magnaprov.resolvers.errors import ErrorCode, Problems
from magnaprov.resolvers.services import Services
from magnaprov.tenancy import Viewer

__all__ = [
    "MacClaim",
    "MacHolder",
    "may_check_mac",
    "record_mac_conflict",
    "release_device_mac",
]

_THROTTLED = (
    "Too many MAC addresses already in use were tried from this account; "
    "wait an hour before trying another, or ask your provider."
)
_NO_SUCH_MAC = "No device has this MAC address."


@dataclass(frozen=True, slots=True)
class MacClaim:
    """A viewer's attempt to give `mac` to the device of an extension."""

    mac: str
    extension_id: int
    extension_number: str
    extension_path: str


@dataclass(frozen=True, slots=True)
class MacHolder:
    """The device that has the MAC, and its extension."""

    device_id: int
    extension_number: str
    tree_path: str


async def may_check_mac(services: Services, viewer: Viewer, problems: Problems) -> bool:
    """Whether the viewer's MAC may be checked now; a THROTTLED problem on `mac` otherwise."""
    if viewer.spans_tenants or await services.mac_conflicts.test(str(viewer.account_id)):
        return True
    problems.add("mac", ErrorCode.THROTTLED, _THROTTLED)
    return False


async def record_mac_conflict(
    db: RequestDatabase,
    services: Services,
    viewer: Viewer,
    client_address: str | None,
    claim: MacClaim,
    holder: MacHolder,
) -> None:
    """Count the conflict against the viewer and audit it on both sides, in its own
    transaction (the provisioning it refused saves nothing).

    The viewer's subtree reads that it met a MAC in use; the holder's subtree reads that
    someone tried its device's MAC; neither learns who the other is. The admin reads both.
    """
    if not viewer.spans_tenants:
        await services.mac_conflicts.hit(str(viewer.account_id))
    async with db.writing() as session:
        actor = await actor_of(session, viewer)
        add_entry(
            session,
            actor,
            client_address,
            "device.mac_conflict",
            ("extension", claim.extension_id, claim.extension_path),
            {"mac": claim.mac, "extension": claim.extension_number},
            {"holder_device_id": holder.device_id, "holder_extension": holder.extension_number},
        )
        add_entry(
            session,
            NOBODY,
            None,
            "device.mac_claimed_elsewhere",
            ("device", holder.device_id, holder.tree_path),
            {"mac": claim.mac, "extension": holder.extension_number},
            {
                "claimed_by": actor.login,
                "claimed_for_extension": claim.extension_number,
                "client_address": client_address,
            },
        )
        await session.commit()


async def release_device_mac(
    db: RequestDatabase, viewer: Viewer, client_address: str | None, mac: str
) -> tuple[int | None, Problems]:
    """Free `mac` by unprovisioning the device holding it (admin only); its extension's id.

    The device goes with its files, as `unprovision_device` does; its extension and SIP
    preferences stay. A device without a MAC could not be served (its files are named by it),
    so freeing a MAC means the phone is provisioned again, with the right MAC, by its owner.
    Anyone but the admin, like a MAC no device has, gets "not found".
    """
    problems = Problems()
    normalized = rules.normalize_mac_input(mac, problems)
    if problems or normalized is None:
        return None, problems
    if not viewer.spans_tenants:
        problems.add("mac", ErrorCode.NOT_FOUND, _NO_SUCH_MAC)
        return None, problems
    async with db.writing() as session:
        row = (
            await session.execute(
                select(Device.id, Device.tree_path, Extension.id, Extension.full_number)
                .join(Extension, Extension.id == Device.extension_id)
                .where(Device.mac == normalized)
                .execution_options(**UNSCOPED)
            )
        ).one_or_none()
        if row is None:
            problems.add("mac", ErrorCode.NOT_FOUND, _NO_SUCH_MAC)
            return None, problems
        device_id, tree_path, extension_id, number = row
        await session.execute(delete(Device).where(Device.id == device_id))
        await record(
            session,
            viewer,
            client_address,
            "device.mac_released",
            "device",
            device_id,
            {"mac": normalized, "extension": number},
            subject_path=tree_path,
        )
        await session.commit()
    return extension_id, problems
