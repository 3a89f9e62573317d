"""Rendering devices' files into `rendered_file`: the only place templates run.

Called inside the transaction of whatever changed (a device, its extension's SIP preferences,
its template, the global preferences), so what the routes serve always matches what was
committed. Devices are rendered in chunks with a fixed number of queries per chunk.

Every render announces the ids of the devices it touched (`magnaprov.db.file_changes`), so the
device routes of every process drop what they cached once the transaction commits.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Select, delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from magnaprov.db import (
    UNSCOPED,
    Account,
    Device,
    Extension,
    GlobalPreferences,
    RenderedFile,
    SipPreferences,
    TemplateFile,
    UpdateProtocol,
    utcnow,
)
from magnaprov.db.device import rendered_file_identity
from magnaprov.db.file_changes import announce_changes
from magnaprov.resolvers.device_links import device_url, shared_root_url
from magnaprov.resolvers.global_preferences import load_global_preferences
from magnaprov.resolvers.public_address import PublicAddress, public_address
from magnaprov.settings import get_settings
from magnaprov.templating import (
    AccountInfo,
    Codec,
    DeviceInfo,
    DeviceRenderInput,
    DtmfMode,
    ExtensionInfo,
    LineInfo,
    OrganizationInfo,
    ServerInfo,
    TemplateRenderError,
    Transport,
    find_equipment,
    render_device_files,
)
from magnaprov.templating import SipPreferences as SipRenderInfo
from magnaprov.tenancy import SecretBox, SecretDecryptionError

__all__ = [
    "RenderFailure",
    "RenderReport",
    "load_render_input",
    "render_devices",
    "rerender_extensions",
    "rerender_subtree",
]

log = logging.getLogger("magnaprov.rendering")
CHUNK_SIZE = 500
_CODEC_NAMES = {"ILBC": "iLBC"}


@dataclass(frozen=True, slots=True)
class RenderFailure:
    """A device whose files could not be rendered; its previous files stay served."""

    device_id: int
    reason: str


@dataclass(slots=True)
class RenderReport:
    """What a render run did."""

    devices: int = 0
    files: int = 0
    failures: list[RenderFailure] = field(default_factory=list)

    def add(self, other: RenderReport) -> None:
        """Fold another report into this one."""
        self.devices += other.devices
        self.files += other.files
        self.failures.extend(other.failures)


@dataclass(frozen=True, slots=True)
class _Row:
    device: Device
    extension: Extension
    owner: Account
    organization: Account
    sip: SipPreferences | None


async def render_devices(
    session: AsyncSession, secrets: SecretBox, device_ids: Sequence[int]
) -> RenderReport:
    """Render every file of the given devices, replacing their rendered files.

    Runs in the caller's transaction and does not commit. Devices with file generation
    disabled lose their files; a device whose template fails keeps its previous files and is
    reported. A device another transaction is rendering is rendered once that one has ended,
    from what it committed.
    """
    report = RenderReport()
    await session.flush()  # the caller's changes are what the chunks read back
    preferences = await load_global_preferences(session)
    ordered = sorted(set(device_ids))  # the order their locks are taken in
    for start in range(0, len(ordered), CHUNK_SIZE):
        chunk = ordered[start : start + CHUNK_SIZE]
        await _wait_for_other_renders(session, chunk)
        chunk_report, changed = await _render_chunk(session, secrets, preferences, chunk)
        report.add(chunk_report)
        await session.run_sync(announce_changes, changed)
    return report


# Transaction-level advisory locks (PostgreSQL), keyed (_RENDER_LOCKS, device id).
_RENDER_LOCKS = 0x6D70_7266  # any constant of 32 bits that no other lock of the database uses
_LOCK_DEVICES = text(
    "SELECT pg_advisory_xact_lock(:space, device_id)"
    " FROM unnest(CAST(:device_ids AS integer[])) WITH ORDINALITY AS locked(device_id, position)"
    " ORDER BY position"
)


async def _wait_for_other_renders(session: AsyncSession, device_ids: Sequence[int]) -> None:
    """Wait until no other transaction renders these devices, and keep them until commit.

    Two transactions rendering one device (a template saved while an extension is renamed)
    would both replace the files they read: the second's insert then collides with the first's.
    Waiting first, the second reads the first's committed inputs and files. Every render takes
    its devices' locks in id order, so two renders never wait for each other in a circle.
    SQLite needs none: its writers already run one at a time, from the start of their
    transaction.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    await session.execute(_LOCK_DEVICES, {"space": _RENDER_LOCKS, "device_ids": list(device_ids)})


def _rows_statement(
    device_ids: Sequence[int],
) -> Select[Device, Extension, Account, Account, SipPreferences]:
    organization = aliased(Account)
    return (
        select(Device, Extension, Account, organization, SipPreferences)
        .join(Extension, Extension.id == Device.extension_id)
        .join(Account, Account.id == Extension.owner_id)
        .join(organization, organization.id == Extension.organization_id)
        .outerjoin(SipPreferences, SipPreferences.extension_id == Extension.id)
        .where(Device.id.in_(device_ids))
        .execution_options(**UNSCOPED)
    )


async def _render_chunk(
    session: AsyncSession,
    secrets: SecretBox,
    preferences: GlobalPreferences,
    device_ids: Sequence[int],
) -> tuple[RenderReport, set[int]]:
    """The chunk's report, and the devices whose stored files changed."""
    # Objects the session loaded earlier are read again (render_devices flushed its changes):
    # the files follow what the database holds now, a render committed meanwhile included.
    statement = _rows_statement(device_ids).execution_options(populate_existing=True)
    rows = [_Row(*row) for row in (await session.execute(statement)).all()]
    sources = await _template_sources(session, {row.device.template_id for row in rows})
    report = RenderReport()
    replaced: list[int] = []
    new_files: list[dict[str, Any]] = []
    now = utcnow()
    for row in rows:
        replaced.append(row.device.id)
        if not row.device.generation_enabled:
            continue
        try:
            rendered = _render_row(row, secrets, preferences, sources)
        except (TemplateRenderError, SecretDecryptionError, ValueError) as error:
            replaced.pop()
            report.failures.append(RenderFailure(row.device.id, str(error)))
            log.warning("device %s not rendered: %s", row.device.id, error)
            continue
        report.devices += 1
        report.files += len(rendered)
        new_files.extend(
            {
                "device_id": row.device.id,
                "name": file.name,
                "name_key": file.name.casefold(),
                "content": file.content,
                "size": len(file.content),
                "etag": file.etag,
                "rendered_at": now,
            }
            for file in rendered
        )
    return report, await _store_files(session, secrets, replaced, new_files)


async def _store_files(
    session: AsyncSession,
    secrets: SecretBox,
    device_ids: list[int],
    files: list[dict[str, Any]],
) -> set[int]:
    """Make the stored files of `device_ids` exactly `files`, writing only what differs.

    A file rendered again to the same name and bytes (the ETag is their SHA-256) keeps its row
    and so its `rendered_at`, the Last-Modified phones revalidate with; the serving processes
    keep their cached copies too. After a template change, most devices' files are those.
    The comparison is on the ETag, never on the stored content: that is encrypted, under a
    fresh nonce each time. Only the files written are encrypted. Returns the devices whose
    files changed.
    """
    if not device_ids:
        return set()
    stored = {
        (row.device_id, row.name_key): row
        for row in await session.execute(
            select(
                RenderedFile.id,
                RenderedFile.device_id,
                RenderedFile.name_key,
                RenderedFile.name,
                RenderedFile.etag,
            ).where(RenderedFile.device_id.in_(device_ids))
        )
    }
    written = []
    for file in files:
        old = stored.get((file["device_id"], file["name_key"]))
        if old is not None and (old.name, old.etag) == (file["name"], file["etag"]):
            del stored[(file["device_id"], file["name_key"])]  # kept as it is
        else:
            identity = rendered_file_identity(file["device_id"], file["name_key"])
            written.append({**file, "content": secrets.seal(file["content"], identity)})
    obsolete = stored.values()  # replaced by a written file, or no longer rendered at all
    if obsolete:
        await session.execute(
            delete(RenderedFile).where(RenderedFile.id.in_([row.id for row in obsolete]))
        )
    if written:
        await session.execute(insert(RenderedFile), written)
    return {row.device_id for row in obsolete} | {file["device_id"] for file in written}


async def _template_sources(
    session: AsyncSession, template_ids: set[int | None]
) -> dict[tuple[int, str, str, str], dict[str, str]]:
    """Sources by (template, manufacturer, model, firmware), then by file pattern."""
    wanted = {template_id for template_id in template_ids if template_id is not None}
    sources: dict[tuple[int, str, str, str], dict[str, str]] = defaultdict(dict)
    if wanted:
        files = await session.scalars(
            select(TemplateFile).where(TemplateFile.template_id.in_(wanted))
        )
        for file in files:
            key = (file.template_id, file.manufacturer, file.model, file.firmware)
            sources[key][file.pattern] = file.source
    return sources


def _render_row(
    row: _Row,
    secrets: SecretBox,
    preferences: GlobalPreferences,
    sources: dict[tuple[int, str, str, str], dict[str, str]],
) -> list[Any]:
    device = row.device
    equipment = find_equipment(device.manufacturer, device.model, device.firmware)
    if equipment is None:
        raise ValueError(
            f"{device.manufacturer} {device.model} {device.firmware} is not in the catalog"
        )
    files = None
    if device.template_id is not None:
        files = sources.get(
            (device.template_id, device.manufacturer, device.model, device.firmware)
        )
    return render_device_files(equipment, files, render_input(row, secrets, preferences))


async def load_render_input(
    session: AsyncSession, secrets: SecretBox, device_id: int
) -> DeviceRenderInput | None:
    """The values a device's files are rendered from (for previews); no access check here."""
    found = (await session.execute(_rows_statement([device_id]))).one_or_none()
    if found is None:
        return None
    return render_input(_Row(*found), secrets, await load_global_preferences(session))


def render_input(
    row: _Row, secrets: SecretBox, preferences: GlobalPreferences
) -> DeviceRenderInput:
    """The plain values a device's templates see."""
    device, extension, sip = row.device, row.extension, row.sip
    phone_password = ""
    if sip is not None and sip.phone_password is not None:
        phone_password = secrets.decrypt(sip.phone_password, sip.password_identity())
    admin_password = None
    if device.admin_password is not None:
        admin_password = secrets.decrypt(
            device.admin_password, device.secret_identity("admin_password")
        )
    key = secrets.decrypt(device.key_secret, device.secret_identity("key"))
    address = public_address(preferences, get_settings())
    return DeviceRenderInput(
        account=AccountInfo(name=row.owner.name, login=row.owner.login),
        organization=OrganizationInfo(name=row.organization.name, code=row.organization.code or ""),
        extension=ExtensionInfo(
            number=extension.number, full_number=extension.full_number, name=extension.name
        ),
        line=LineInfo(
            user=extension.full_number,
            auth_user=extension.full_number,
            password=phone_password,
            display_name=extension.name,
            registrar_host=preferences.registrar_host,
            registrar_port=preferences.registrar_port,
            transport=cast(Transport, preferences.registrar_transport.lower()),
        ),
        device=DeviceInfo(
            mac=device.mac,
            friendly_name=device.friendly_name,
            manufacturer=device.manufacturer,
            model=device.model,
            firmware=device.firmware,
            application_version=device.application_version,
            admin_user=device.admin_username,
            admin_password=admin_password,
            update_interval=device.update_interval,
            protocol=device.update_protocol.value,
            provisioning_url=_provisioning_url(device, address, key),
            root_url=_root_url(device, address),
            tftp_host=address.tftp_host,
        ),
        server=ServerInfo(time_zone=preferences.time_zone, ntp_server=preferences.ntp_server),
        sip=_sip_info(sip),
    )


def _provisioning_url(device: Device, address: PublicAddress, key: str) -> str:
    """Where the phone provisions from next: a place that answers over its own protocol.

    The TFTP server serves a device's files by the MAC in their names at its root, and no
    device over HTTP(S), so a TFTP phone is sent to the TFTP root, never to a key directory.
    """
    if device.update_protocol is UpdateProtocol.TFTP:
        return address.tftp_url()
    return device_url(address, key, device.update_protocol.value.lower())


def _root_url(device: Device, address: PublicAddress) -> str:
    if device.update_protocol is UpdateProtocol.TFTP:
        return address.tftp_url()
    return shared_root_url(address, device.update_protocol.value.lower())


def _sip_info(sip: SipPreferences | None) -> SipRenderInfo:
    """The extension's SIP preferences in the templates' vocabulary (defaults when none)."""
    if sip is None:
        return SipRenderInfo(
            dtmf_mode="rfc2833",
            codecs=("PCMA", "PCMU", "G722"),
            nat_keepalive=True,
            presence=False,
            direct_media=False,
            forced_mwi=False,
            equipment_description="",
        )
    codecs = tuple(cast(Codec, _CODEC_NAMES.get(codec, codec)) for codec in sip.codec_list)
    return SipRenderInfo(
        dtmf_mode=cast(DtmfMode, sip.dtmf_mode.value.lower()),
        codecs=codecs,
        nat_keepalive=sip.nat_keep_alive,
        presence=sip.presence_publishing,
        direct_media=sip.direct_media,
        forced_mwi=sip.forced_mwi,
        equipment_description=sip.equipment_description,
    )


async def rerender_extensions(
    session: AsyncSession, secrets: SecretBox, extension_ids: Sequence[int]
) -> RenderReport:
    """Re-render the devices of these extensions (after their extension or SIP data changed)."""
    ids = await session.scalars(
        select(Device.id)
        .where(Device.extension_id.in_(extension_ids))
        .execution_options(**UNSCOPED)
    )
    return await render_devices(session, secrets, list(ids))


async def rerender_subtree(
    session: AsyncSession, secrets: SecretBox, tree_path: str
) -> RenderReport:
    """Re-render every device below an account (after its name or login changed)."""
    ids = await session.scalars(
        select(Device.id)
        .where(Device.tree_path.like(f"{tree_path}%"))
        .order_by(Device.id)
        .execution_options(**UNSCOPED)
    )
    return await render_devices(session, secrets, list(ids))
