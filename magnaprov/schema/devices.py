"""Devices of phone-terminal extensions: the spec's Provisioning page over GraphQL."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from operator import itemgetter
from typing import TYPE_CHECKING, Annotated

import strawberry
from graphql import GraphQLObjectType

from magnaprov.db import (
    Account,
    Device,
    Extension,
    PasswordGeneration,
    ProvisioningLevel,
    RenderedFile,
    UpdateProtocol,
)
from magnaprov.resolvers import Problems, devices, mac_conflicts
from magnaprov.resolvers.configuration_check import protocol_problem
from magnaprov.resolvers.device_links import provisioning_links
from magnaprov.resolvers.errors import ErrorCode
from magnaprov.resolvers.public_address import public_address
from magnaprov.resolvers.rendered_files import rendered_file_text
from magnaprov.resolvers.rendering import RenderReport
from magnaprov.resolvers.templates import SERVER_DEFAULT
from magnaprov.schema.configuration import ConfigurationWarning
from magnaprov.schema.context import Info
from magnaprov.schema.errors import UserError, user_errors
from magnaprov.schema.node import Node, decode_id, encode_global_id, register_node_type
from magnaprov.schema.pagination import Connection, connection_from_page
from magnaprov.schema.permissions import IsAuthenticated
from magnaprov.schema.preloading import NOT_LOADED, NotLoaded, deferred, preloaded_from
from magnaprov.schema.row_objects import (
    ColumnSource,
    Joined,
    ObjectPlan,
    column,
    column_values,
    flattened_fields,
    plan_objects,
    selected_fields,
)
from magnaprov.templating import find_equipment
from magnaprov.tenancy import (
    SecretDecryptionError,
    Viewer,
    device_access,
    device_access_level,
    mac_based_status,
    may_see_device_secrets,
)

if TYPE_CHECKING:
    from magnaprov.schema.extensions import ExtensionType_

__all__ = ["DeviceMutations", "DeviceQueries", "DeviceType"]

log = logging.getLogger("magnaprov.secrets")
SERVER_DEFAULT_TEMPLATE_ID = encode_global_id("ProvisioningTemplate", 0)


def _template_id(template_id: int | None) -> strawberry.ID:
    if template_id is None:
        return SERVER_DEFAULT_TEMPLATE_ID
    return encode_global_id("ProvisioningTemplate", template_id)


strawberry.enum(
    PasswordGeneration, description="How the phone's web administrator password is chosen."
)
strawberry.enum(UpdateProtocol, description="How the phone fetches its files.")


@strawberry.type(description="A URL to give the phone, or to serve through DHCP option 66.")
class ProvisioningLink:
    kind: str = strawberry.field(
        description="DEVICE_DIRECTORY, SHARED_ROOT (MAC-based), TFTP or PROFILE_RULE (Cisco SPA)."
    )
    protocol: UpdateProtocol = strawberry.field(description="Protocol of the URL.")
    url: str = strawberry.field(description="The URL itself.")
    warning: ConfigurationWarning | None = strawberry.field(
        description="Why this link cannot work as configured (and what to do); null when it can."
    )


@strawberry.type(description="Whether the shared root serves this device, and if not, why.")
class MacBasedProvisioning:
    in_force: bool = strawberry.field(
        description="Global opt-in on, device flag on and an HTTP(S) update protocol."
    )
    reason: str | None = strawberry.field(description="Why it is not in force.")


@strawberry.type(description="When and from where the phone last fetched a file.")
class LastContact:
    at: datetime = strawberry.field(
        description=(
            "Time of the fetch, precise to the server's contact resolution (a minute unless "
            "configured): fetches from the same address with the same User-Agent within it "
            "are not written again."
        )
    )
    address: str | None = strawberry.field(description="Client address.")
    user_agent: str | None = strawberry.field(description="The phone's User-Agent.")
    firmware: str | None = strawberry.field(description="Firmware parsed from the User-Agent.")


@strawberry.type(name="DeviceFile", description="A rendered file of a device.")
class DeviceFileType:
    name: str = strawberry.field(description="File name as the phone asks for it.")
    size: int = strawberry.field(description="Size in bytes.")
    etag: str | None = strawberry.field(
        description="Entity tag the routes send (a hash of the content); only for viewers who "
        "may modify the device."
    )
    rendered_at: datetime = strawberry.field(
        description="When this content was rendered; rendering the same bytes again keeps it."
    )
    row: strawberry.Private[RenderedFile]
    may_read: strawberry.Private[bool]

    @strawberry.field(description="The file's text; only for viewers who may modify the device.")
    async def content(self, info: Info) -> str | None:
        if not self.may_read:
            return None
        async with info.context.db.reading() as session:
            return await rendered_file_text(session, info.context.services.secrets, self.row)


@strawberry.type(name="Device", description="The SIP phone of a phone-terminal extension.")
class DeviceType(Node):
    # Fields copying a column say which (see `schema/row_objects.py`): lists load just those.
    id: strawberry.ID = strawberry.field(
        description="Opaque global identifier.",
        metadata=column(Device.id, partial(encode_global_id, "Device")),
    )
    friendly_name: str = strawberry.field(
        description="Alphanumeric, 3-32 characters; not unique.",
        metadata=column(Device.friendly_name),
    )
    manufacturer: str = strawberry.field(
        description="Catalog manufacturer key.", metadata=column(Device.manufacturer)
    )
    model: str = strawberry.field(description="Catalog model key.", metadata=column(Device.model))
    firmware: str = strawberry.field(
        description="Catalog firmware key.", metadata=column(Device.firmware)
    )
    application_version: str = strawberry.field(
        description="Exact application version, e.g. P0S3-08-11-00.",
        metadata=column(Device.application_version),
    )
    mac: str = strawberry.field(
        description="MAC address, XX:XX:XX:XX:XX:XX in upper case.",
        metadata=column(Device.mac, str.upper),
    )
    use_mac_based_provisioning: bool = strawberry.field(
        description="Use MAC based provisioning.", metadata=column(Device.use_mac_provisioning)
    )
    file_generation_enabled: bool = strawberry.field(
        description="Provisioning file generation.", metadata=column(Device.generation_enabled)
    )
    notes: str = strawberry.field(description="Free notes.", metadata=column(Device.notes))
    admin_username: str = strawberry.field(
        description="Web administrator user name.", metadata=column(Device.admin_username)
    )
    password_generation: PasswordGeneration = strawberry.field(
        description="NONE, AUTO or MANUAL.", metadata=column(Device.password_generation)
    )
    update_interval: int = strawberry.field(
        description="Phone update interval, 1-99999.", metadata=column(Device.update_interval)
    )
    update_protocol: UpdateProtocol = strawberry.field(
        description="TFTP, HTTP or HTTPS.", metadata=column(Device.update_protocol)
    )
    require_client_certificate: bool = strawberry.field(
        description="Files served over HTTPS only to the phone's factory certificate: one "
        "chaining to its vendor's CA whose subject names its MAC.",
        metadata=column(Device.require_client_certificate),
    )
    template_id: strawberry.ID = strawberry.field(
        description="The template used; the Server default has its own fixed ID.",
        metadata=column(Device.template_id, _template_id),
    )
    viewer_provisioning: ProvisioningLevel = strawberry.field(
        description="What the viewer may do with this device: VIEW or MODIFY."
    )
    created_at: datetime = strawberry.field(
        description="When the device was provisioned.", metadata=column(Device.created_at)
    )
    updated_at: datetime = strawberry.field(
        description="Last change.", metadata=column(Device.updated_at)
    )
    row: strawberry.Private[Device]
    extension_type: strawberry.Private[ExtensionType_ | NotLoaded | None] = NOT_LOADED
    template_name_value: strawberry.Private[str | NotLoaded] = NOT_LOADED

    @classmethod
    def from_row(cls, row: Device, access: ProvisioningLevel) -> DeviceType:
        """The GraphQL form of a device row, as `access` allows (see also `device_types`)."""
        return cls(**column_values(cls, row), viewer_provisioning=access, row=row)

    @property
    def may_see_secrets(self) -> bool:
        """Whether the viewer may see what leads to the files (see `tenancy.device_secrets`)."""
        return may_see_device_secrets(self.viewer_provisioning)

    @strawberry.field(
        description="The phone-terminal extension the device belongs to.",
        metadata=preloaded_from("extension_type"),
    )
    def extension(
        self, info: Info
    ) -> Annotated[ExtensionType_, strawberry.lazy("magnaprov.schema.extensions")] | None:
        if isinstance(self.extension_type, NotLoaded):
            return deferred(self._load_extension(info))
        return self.extension_type

    async def _load_extension(self, info: Info) -> ExtensionType_ | None:
        from magnaprov.schema.extensions import ExtensionType_

        row = await info.context.loaders.extension_by_id.load(self.row.extension_id)
        return None if row is None else ExtensionType_.from_row(row)

    @strawberry.field(
        description="Name of the template used (Server default when none chosen).",
        metadata=preloaded_from("template_name_value"),
    )
    def template_name(self, info: Info) -> str:
        if not isinstance(self.template_name_value, NotLoaded):
            return self.template_name_value
        if self.row.template_id is None:
            return SERVER_DEFAULT.name
        return deferred(info.context.loaders.template_name.load(self.row.template_id))

    @strawberry.field(description="Administrator password; only for viewers who may modify.")
    def admin_password(self, info: Info) -> str | None:
        if not self.may_see_secrets or self.row.admin_password is None:
            return None
        return _decrypt(info, self.row.admin_password, self.row.secret_identity("admin_password"))

    @strawberry.field(
        description="User name the phone must send (HTTP Digest) to fetch its files; null when "
        "HTTP authentication is off. Only for viewers who may modify the device."
    )
    def http_auth_username(self) -> str | None:
        return self.row.digest_username if self.may_see_secrets else None

    @strawberry.field(
        description="Password the phone must send (HTTP Digest) to fetch its files; null when "
        "HTTP authentication is off. Only for viewers who may modify the device."
    )
    def http_auth_password(self, info: Info) -> str | None:
        if not self.may_see_secrets or self.row.digest_password is None:
            return None
        return _decrypt(info, self.row.digest_password, self.row.secret_identity("digest_password"))

    @strawberry.field(description="Whether MAC-based provisioning is in force, or why not.")
    async def mac_based_provisioning(self, info: Info) -> MacBasedProvisioning:
        preferences = await info.context.loaders.global_preferences()
        status = mac_based_status(self.row, preferences.allow_mac_provisioning)
        return MacBasedProvisioning(in_force=status.in_force, reason=status.reason)

    @strawberry.field(
        description="URLs to configure in the phone; none while generation is off. Only for "
        "viewers who may modify the device: the links lead to its files."
    )
    async def provisioning_links(self, info: Info) -> list[ProvisioningLink]:
        if not self.may_see_secrets:
            return []
        preferences = await info.context.loaders.global_preferences()
        equipment = find_equipment(self.row.manufacturer, self.row.model, self.row.firmware)
        key = _decrypt(info, self.row.key_secret, self.row.secret_identity("key"))
        if equipment is None or key is None:
            return []
        in_force = mac_based_status(self.row, preferences.allow_mac_provisioning).in_force
        address = public_address(preferences, info.context.services.settings)
        problem = protocol_problem(self.row.update_protocol, address, preferences)
        warning = None if problem is None else ConfigurationWarning.of(problem)
        return [
            ProvisioningLink(
                kind=link.kind,
                protocol=UpdateProtocol(link.protocol),
                url=link.url,
                warning=warning,
            )
            for link in provisioning_links(self.row, key, equipment, address, in_force)
        ]

    @strawberry.field(description="The rendered files; contents only for viewers who may modify.")
    async def files(self, info: Info) -> list[DeviceFileType]:
        rows = await info.context.loaders.files_by_device.load(self.row.id)
        return [
            DeviceFileType(
                name=row.name,
                size=row.size,
                etag=row.etag if self.may_see_secrets else None,
                rendered_at=row.rendered_at,
                row=row,
                may_read=self.may_see_secrets,
            )
            for row in rows
        ]

    @strawberry.field(description="The phone's last fetch, or null if it never asked.")
    def last_contact(self) -> LastContact | None:
        if self.row.last_contact_at is None:
            return None
        return LastContact(
            at=self.row.last_contact_at,
            address=self.row.last_contact_address,
            user_agent=self.row.last_contact_user_agent,
            firmware=self.row.last_contact_firmware,
        )


def _decrypt(info: Info, ciphertext: bytes, identity: str) -> str | None:
    try:
        return info.context.services.secrets.decrypt(ciphertext, identity)
    except SecretDecryptionError as error:
        log.error("secret %s cannot be decrypted: %s", identity, error)
        return None


async def device_types(info: Info, rows: Sequence[Device]) -> list[DeviceType]:
    """Devices for a list, with extensions, owners and template names loaded in batches."""
    from magnaprov.schema.extensions import extension_types

    viewer = info.context.require_viewer()
    loaders = info.context.loaders
    extension_rows = await loaders.extension_by_id.load_many([row.extension_id for row in rows])
    found = [row for row in extension_rows if row is not None]
    extensions = {ext.row.id: ext for ext in await extension_types(info, found)}
    template_ids = sorted({row.template_id for row in rows if row.template_id is not None})
    names = dict(
        zip(template_ids, await loaders.template_name.load_many(template_ids), strict=True)
    )
    devices = []
    for row in rows:
        extension = extensions[row.extension_id]
        device = DeviceType.from_row(row, device_access(viewer, extension.row))
        device.extension_type = extension
        device.template_name_value = (
            SERVER_DEFAULT.name if row.template_id is None else names[row.template_id]
        )
        devices.append(device)
    return devices


def _device_list_plan(info: Info, viewer: Viewer) -> ObjectPlan | None:
    """How to build the listed devices from columns, when the selection reads only columns."""
    connection = info.selected_fields[0].selections
    edges = [field for edge in selected_fields(connection, "edges") for field in edge.selections]
    if any(field.name not in {"cursor", "node", "__typename"} for field in flattened_fields(edges)):
        return None
    nodes = [
        selection
        for field in [*selected_fields(connection, "nodes"), *selected_fields(edges, "node")]
        for selection in field.selections
    ]
    device_type = info.schema._schema.get_type("Device")  # graphql-core's: no public accessor
    if not isinstance(device_type, GraphQLObjectType):
        return None
    access = ColumnSource(Extension.provisioning, partial(device_access_level, viewer))
    template_name = ColumnSource(devices.DEVICE_TEMPLATE.c.name, _template_name)
    owner = Joined("owner_type", key=Account.id)  # outer join: null outside the viewer's scope
    joined = {
        "viewer_provisioning": Joined("viewer_provisioning", access),
        "template_name": Joined("template_name_value", template_name),
        "extension": Joined("extension_type", fields={"owner": owner}),
    }
    return plan_objects(device_type, nodes, joined, columns=[Device.id])


def _template_name(name: str | None) -> str:
    return SERVER_DEFAULT.name if name is None else name


async def device_for_viewer(info: Info, row: Device) -> DeviceType | None:
    """The device as the viewer may see it, or None when its access is NONE."""
    viewer = info.context.require_viewer()
    extension = await info.context.loaders.extension_by_id.load(row.extension_id)
    if extension is None:
        return None
    access = device_access(viewer, extension)
    return None if access is ProvisioningLevel.NONE else DeviceType.from_row(row, access)


async def _fetch_device(info: Info, device_id: int) -> DeviceType | None:
    if info.context.viewer is None:
        return None
    async with info.context.db.reading() as session:
        row = await devices.get_device(session, info.context.viewer, device_id)
    return None if row is None else await device_for_viewer(info, row)


register_node_type("Device", _fetch_device)


@strawberry.type(
    description="A device whose files could not be rendered; its old files stay served."
)
class RenderFailure:
    device_id: strawberry.ID = strawberry.field(description="The device.")
    reason: str = strawberry.field(description="What went wrong, with file and line when known.")


@strawberry.type(description="What a render run did.")
class RegenerationSummary:
    devices: int = strawberry.field(description="Devices rendered.")
    files: int = strawberry.field(description="Files written.")
    failures: list[RenderFailure] = strawberry.field(description="Devices that failed.")

    @classmethod
    def of(cls, report: RenderReport) -> RegenerationSummary:
        """The GraphQL form of a render report."""
        return cls(
            devices=report.devices,
            files=report.files,
            failures=[
                RenderFailure(device_id=encode_global_id("Device", f.device_id), reason=f.reason)
                for f in report.failures
            ],
        )


@strawberry.type(description="Result of provisionDevice.")
class ProvisionDevicePayload:
    device: DeviceType | None = strawberry.field(description="The device as saved.")
    regeneration: RegenerationSummary | None = strawberry.field(
        description="How rendering its files went (a template error does not undo the save)."
    )
    user_errors: list[UserError] = strawberry.field(description="Input problems; nothing saved.")


@strawberry.type(description="Result of unprovisionDevice.")
class UnprovisionDevicePayload:
    extension_id: strawberry.ID | None = strawberry.field(
        description="The extension, now without a device."
    )
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of releaseDeviceMac.")
class ReleaseDeviceMacPayload:
    extension_id: strawberry.ID | None = strawberry.field(
        description="The extension whose device held the MAC, now without a device."
    )
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of rotateDeviceKey.")
class RotateDeviceKeyPayload:
    device: DeviceType | None = strawberry.field(description="The device with its new links.")
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of regenerateProvisioningFiles.")
class RegenerateProvisioningFilesPayload:
    summary: RegenerationSummary | None = strawberry.field(description="What was rendered.")
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


def _problem(field_name: str, message: str) -> list[UserError]:
    problems = Problems()
    problems.add(field_name, ErrorCode.NOT_FOUND, message)
    return user_errors(problems)


@strawberry.type
class DeviceQueries:
    @strawberry.field(
        description="Devices the viewer may view, optionally matching a name, MAC or number.",
        permission_classes=[IsAuthenticated],
    )
    async def devices(
        self,
        info: Info,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[DeviceType]:
        viewer = info.context.require_viewer()
        plan = _device_list_plan(info, viewer)
        if plan is not None:  # the selection reads only columns: rows of just those
            async with info.context.db.reading() as session:
                rows = await devices.list_device_columns(
                    session, viewer, plan.columns, search=search, first=first, after=after
                )
            return connection_from_page(rows, plan.build, itemgetter(0))
        async with info.context.db.reading() as session:
            page = await devices.list_devices(
                session, viewer, search=search, first=first, after=after
            )
        built = {device.row.id: device for device in await device_types(info, page.rows)}
        return connection_from_page(page, lambda row: built[row.id], lambda row: row.id)

    @strawberry.field(
        description="One device by global ID or by MAC address (any case).",
        permission_classes=[IsAuthenticated],
    )
    async def device(
        self,
        info: Info,
        id: strawberry.ID | None = None,
        mac: str | None = None,
    ) -> DeviceType | None:
        viewer = info.context.require_viewer()
        if id is not None:
            row_id = decode_id(id, "Device")
            return None if row_id is None else await _fetch_device(info, row_id)
        if mac is None:
            return None
        async with info.context.db.reading() as session:
            row = await devices.get_device_by_mac(session, viewer, mac)
        return None if row is None else await device_for_viewer(info, row)


@strawberry.type
class DeviceMutations:
    @strawberry.mutation(
        description="Use provisioning on a phone-terminal extension: create or update its device. "
        "All problems come back together; nothing is half-saved.",
        permission_classes=[IsAuthenticated],
    )
    async def provision_device(
        self,
        info: Info,
        extension_id: strawberry.ID,
        friendly_name: str | None = None,
        manufacturer: str | None = None,
        model: str | None = None,
        firmware: str | None = None,
        application_version: str | None = None,
        mac: str | None = None,
        use_mac_based_provisioning: bool | None = None,
        file_generation_enabled: bool | None = None,
        notes: str | None = None,
        admin_username: str | None = None,
        password_generation: PasswordGeneration | None = None,
        admin_password: str | None = None,
        admin_password_confirmation: str | None = None,
        update_interval: int | None = None,
        update_protocol: UpdateProtocol | None = None,
        template_id: strawberry.ID | None = None,
        regenerate: bool = False,
        http_authentication: Annotated[
            bool | None,
            strawberry.argument(
                description="Require HTTP Digest for this device's files: on generates a user "
                "name and a strong password once (see httpAuthUsername/httpAuthPassword), off "
                "removes them; omitted leaves it as it is."
            ),
        ] = None,
        require_client_certificate: Annotated[
            bool | None,
            strawberry.argument(
                description="Serve this device's files only over HTTPS to its factory "
                "certificate (needs updateProtocol HTTPS); omitted leaves it as it is."
            ),
        ] = None,
    ) -> ProvisionDevicePayload:
        ctx = info.context
        viewer = ctx.require_viewer()
        row_id = decode_id(extension_id, "Extension")
        if row_id is None:
            return ProvisionDevicePayload(
                device=None,
                regeneration=None,
                user_errors=_problem("extensionId", "No such extension."),
            )
        template = None
        if template_id is not None:
            decoded = decode_id(template_id, "ProvisioningTemplate")
            if decoded is None:
                return ProvisionDevicePayload(
                    device=None,
                    regeneration=None,
                    user_errors=_problem("templateId", "No such template."),
                )
            template = devices.TemplateChoice(None if decoded == 0 else decoded)
        fields = devices.DeviceFields(
            friendly_name=friendly_name,
            manufacturer=manufacturer,
            model=model,
            firmware=firmware,
            application_version=application_version,
            mac=mac,
            use_mac_provisioning=use_mac_based_provisioning,
            generation_enabled=file_generation_enabled,
            notes=notes,
            admin_username=admin_username,
            password_generation=password_generation,
            admin_password=admin_password,
            admin_password_confirmation=admin_password_confirmation,
            update_interval=update_interval,
            update_protocol=update_protocol,
            template=template,
            regenerate=regenerate,
            http_authentication=http_authentication,
            require_client_certificate=require_client_certificate,
        )
        result = await devices.provision_device(
            ctx.db, ctx.services, viewer, ctx.client_address, row_id, fields
        )
        if result.device is None:
            return ProvisionDevicePayload(
                device=None, regeneration=None, user_errors=user_errors(result.problems)
            )
        return ProvisionDevicePayload(
            device=DeviceType.from_row(result.device, ProvisioningLevel.MODIFY),
            regeneration=RegenerationSummary.of(result.render),
            user_errors=[],
        )

    @strawberry.mutation(
        description='"Use provisioning" off: remove the extension\'s device and its files.',
        permission_classes=[IsAuthenticated],
    )
    async def unprovision_device(
        self, info: Info, extension_id: strawberry.ID
    ) -> UnprovisionDevicePayload:
        ctx = info.context
        row_id = decode_id(extension_id, "Extension")
        if row_id is None:
            return UnprovisionDevicePayload(
                extension_id=None, user_errors=_problem("extensionId", "No such extension.")
            )
        problems = await devices.unprovision_device(
            ctx.db, ctx.require_viewer(), ctx.client_address, row_id
        )
        return UnprovisionDevicePayload(
            extension_id=None if problems else extension_id, user_errors=user_errors(problems)
        )

    @strawberry.mutation(
        description="Admin only: free a MAC address by unprovisioning the device that holds "
        "it (the device and its files go, its extension stays), so that the phone's rightful "
        "owner can provision it. Audited; the holder's subtree sees the release. Anyone else "
        "gets NOT_FOUND, as for a MAC no device has.",
        permission_classes=[IsAuthenticated],
    )
    async def release_device_mac(self, info: Info, mac: str) -> ReleaseDeviceMacPayload:
        ctx = info.context
        extension_id, problems = await mac_conflicts.release_device_mac(
            ctx.db, ctx.require_viewer(), ctx.client_address, mac
        )
        return ReleaseDeviceMacPayload(
            extension_id=None
            if extension_id is None
            else encode_global_id("Extension", extension_id),
            user_errors=user_errors(problems),
        )

    @strawberry.mutation(
        description="Issue a new device key; the old links stop working at once.",
        permission_classes=[IsAuthenticated],
    )
    async def rotate_device_key(
        self, info: Info, device_id: strawberry.ID
    ) -> RotateDeviceKeyPayload:
        ctx = info.context
        row_id = decode_id(device_id, "Device")
        if row_id is None:
            return RotateDeviceKeyPayload(
                device=None, user_errors=_problem("deviceId", "No such device.")
            )
        row, problems = await devices.rotate_device_key(
            ctx.db, ctx.services, ctx.require_viewer(), ctx.client_address, row_id
        )
        return RotateDeviceKeyPayload(
            device=None if row is None else DeviceType.from_row(row, ProvisioningLevel.MODIFY),
            user_errors=user_errors(problems),
        )

    @strawberry.mutation(
        description="Re-render files: of some devices, of every device of a template, or all the "
        "viewer may modify. Exactly one of deviceIds, templateId or all.",
        permission_classes=[IsAuthenticated],
    )
    async def regenerate_provisioning_files(
        self,
        info: Info,
        device_ids: list[strawberry.ID] | None = None,
        template_id: strawberry.ID | None = None,
        all: bool = False,
    ) -> RegenerateProvisioningFilesPayload:
        ctx = info.context
        ids = None if device_ids is None else [decode_id(gid, "Device") or -1 for gid in device_ids]
        template = (
            None if template_id is None else (decode_id(template_id, "ProvisioningTemplate") or -1)
        )
        report, problems = await devices.regenerate_devices(
            ctx.db,
            ctx.services,
            ctx.require_viewer(),
            ctx.client_address,
            device_ids=ids,
            template_id=template,
            everything=all,
        )
        return RegenerateProvisioningFilesPayload(
            summary=None if problems else RegenerationSummary.of(report),
            user_errors=user_errors(problems),
        )
