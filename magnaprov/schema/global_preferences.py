"""The admin's global preferences and the audit log."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy import select

from magnaprov.db import AuditEntry as AuditRow
from magnaprov.db import Device, GlobalPreferences
from magnaprov.resolvers import audit
from magnaprov.resolvers.configuration_check import configuration_findings
from magnaprov.resolvers.global_preferences import PreferenceChanges, update_global_preferences
from magnaprov.resolvers.public_address import LEGACY_BASE_URL, LEGACY_TFTP_HOST
from magnaprov.resolvers.rendering import render_devices
from magnaprov.schema.configuration import ConfigurationWarning
from magnaprov.schema.context import Info
from magnaprov.schema.devices import RegenerationSummary
from magnaprov.schema.errors import UserError, user_errors
from magnaprov.schema.pagination import Connection, connection_from_page
from magnaprov.schema.permissions import IsAuthenticated
from magnaprov.settings import Settings

__all__ = ["GlobalPreferencesMutations", "GlobalPreferencesQueries"]


@strawberry.type(
    name="GlobalPreferences", description="What every device's files carry; admin only."
)
class GlobalPreferencesType:
    allow_mac_based_provisioning: bool = strawberry.field(
        description='"Allow MAC based provisioning on HTTP(S)": serve the shared root /prov/.'
    )
    base_url: str = strawberry.field(
        description="Public base URL of the device routes; empty: derived from the address and "
        "port the server listens on."
    )
    tftp_host: str = strawberry.field(
        description="Host phones reach the TFTP server at; empty: where TFTP listens."
    )
    registrar_host: str = strawberry.field(description="SIP registrar phones register with.")
    registrar_port: int = strawberry.field(description="SIP registrar port.")
    registrar_transport: str = strawberry.field(description="UDP, TCP or TLS.")
    ntp_server: str = strawberry.field(description="NTP server in the files.")
    time_zone: str = strawberry.field(description="Default time zone (IANA name).")
    tftp_enabled: bool = strawberry.field(description="Serve files over TFTP.")
    tftp_allowed_networks: list[str] = strawberry.field(
        description="Client networks TFTP answers; required while TFTP is on (empty: nobody)."
    )
    updated_at: datetime = strawberry.field(description="Last change.")
    warnings: list[ConfigurationWarning] = strawberry.field(
        description="Placeholders and settings with which phones cannot be provisioned."
    )

    @classmethod
    def of(cls, row: GlobalPreferences, settings: Settings) -> GlobalPreferencesType:
        """The GraphQL form of the preferences row, with the configuration's warnings."""
        return cls(
            allow_mac_based_provisioning=row.allow_mac_provisioning,
            base_url=_chosen(row.base_url, LEGACY_BASE_URL),
            tftp_host=_chosen(row.tftp_host, LEGACY_TFTP_HOST),
            registrar_host=row.registrar_host,
            registrar_port=row.registrar_port,
            registrar_transport=row.registrar_transport,
            ntp_server=row.ntp_server,
            time_zone=row.time_zone,
            tftp_enabled=row.tftp_enabled,
            tftp_allowed_networks=[n for n in row.tftp_allowed_networks.split(",") if n],
            updated_at=row.updated_at,
            warnings=[ConfigurationWarning.of(f) for f in configuration_findings(row, settings)],
        )


def _chosen(value: str, legacy_default: str) -> str:
    return "" if value == legacy_default else value


@strawberry.type(
    description="One recorded event: a change to a device, template or preferences, a login, "
    "a MAC address claimed by two tenants."
)
class AuditEntry:
    at: datetime = strawberry.field(description="When.")
    actor_login: str = strawberry.field(
        description="Who (their login at the time); empty when the actor is not yours to know."
    )
    client_address: str | None = strawberry.field(description="From which address.")
    action: str = strawberry.field(description="What, e.g. device.update or login.failed.")
    object_type: str = strawberry.field(
        description="device, provisioning_template, extension, account or preferences."
    )
    object_id: str | None = strawberry.field(description="Row id of the object.")
    details: str = strawberry.field(
        description="JSON of changed field names and non-secret values."
    )
    admin_details: str | None = strawberry.field(
        description="JSON only the admin reads, e.g. which device holds a MAC another tenant "
        "tried to use; null for anyone else."
    )


@strawberry.type(description="Result of updateGlobalPreferences.")
class UpdateGlobalPreferencesPayload:
    global_preferences: GlobalPreferencesType | None = strawberry.field(description="As saved.")
    regeneration: RegenerationSummary | None = strawberry.field(
        description="Every device was re-rendered with the new values."
    )
    user_errors: list[UserError] = strawberry.field(description="Input problems; nothing saved.")


@strawberry.type
class GlobalPreferencesQueries:
    @strawberry.field(
        description="Global preferences; null for anyone but the admin.",
        permission_classes=[IsAuthenticated],
    )
    async def global_preferences(self, info: Info) -> GlobalPreferencesType | None:
        if not info.context.require_viewer().is_admin:
            return None
        preferences = await info.context.loaders.global_preferences()
        return GlobalPreferencesType.of(preferences, info.context.services.settings)

    @strawberry.field(
        description="The audit log, oldest first: the entries whose actor or subject lies in "
        "the viewer's subtree (everything for the admin; a user's own).",
        permission_classes=[IsAuthenticated],
    )
    async def audit_log(
        self,
        info: Info,
        object_type: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEntry]:
        viewer = info.context.require_viewer()
        async with info.context.db.reading() as session:
            page = await audit.list_audit_entries(
                session,
                object_type=object_type,
                object_id=None,
                first=first,
                after=after,
            )
        whole = viewer.spans_tenants
        return connection_from_page(page, lambda row: _entry(row, whole), lambda row: row.id)


def _entry(row: AuditRow, whole: bool) -> AuditEntry:
    return AuditEntry(
        at=row.at,
        actor_login=row.actor_login,
        client_address=row.client_address,
        action=row.action,
        object_type=row.object_type,
        object_id=None if row.object_id is None else str(row.object_id),
        details=row.details,
        admin_details=row.admin_details if whole else None,
    )


@strawberry.type
class GlobalPreferencesMutations:
    @strawberry.mutation(
        description="Change the global preferences (admin only); every device is re-rendered.",
        permission_classes=[IsAuthenticated],
    )
    async def update_global_preferences(
        self,
        info: Info,
        allow_mac_based_provisioning: bool | None = None,
        base_url: str | None = None,
        tftp_host: str | None = None,
        registrar_host: str | None = None,
        registrar_port: int | None = None,
        registrar_transport: str | None = None,
        ntp_server: str | None = None,
        time_zone: str | None = None,
        tftp_enabled: bool | None = None,
        tftp_allowed_networks: list[str] | None = None,
    ) -> UpdateGlobalPreferencesPayload:
        ctx = info.context
        viewer = ctx.require_viewer()
        changes = PreferenceChanges(
            allow_mac_based_provisioning,
            base_url,
            tftp_host,
            registrar_host,
            registrar_port,
            registrar_transport,
            ntp_server,
            time_zone,
            tftp_enabled,
            tftp_allowed_networks,
        )
        async with ctx.db.writing() as session:
            row, problems = await update_global_preferences(session, viewer, changes)
            if row is None:
                return UpdateGlobalPreferencesPayload(
                    global_preferences=None, regeneration=None, user_errors=user_errors(problems)
                )
            ids = list(await session.scalars(select(Device.id).order_by(Device.id)))
            report = await render_devices(session, ctx.services.secrets, ids)
            await audit.record(
                session, viewer, ctx.client_address, "preferences.update", "preferences", None
            )
            await session.commit()
        return UpdateGlobalPreferencesPayload(
            global_preferences=GlobalPreferencesType.of(row, ctx.services.settings),
            regeneration=RegenerationSummary.of(report),
            user_errors=[],
        )
