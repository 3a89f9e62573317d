"""The `ProvisioningTemplate` type, its queries and its mutations.

The built-in Server default is a `ProvisioningTemplate` too, with the fixed global ID of row 0:
read-only, listed first, with every file of every catalog equipment (its built-in text readable
as `source`, for copying blocks or learning their names).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.dataloader import DataLoader

from magnaprov.db import ProvisioningTemplate, TemplateFile
from magnaprov.resolvers import InvalidArgument, Problems, templates
from magnaprov.resolvers.errors import ErrorCode
from magnaprov.resolvers.templates import (
    FileChange,
    FileKey,
    ServerDefault,
    TemplateRow,
)
from magnaprov.schema.accounts import AccountType
from magnaprov.schema.context import Info
from magnaprov.schema.errors import UserError, user_errors
from magnaprov.schema.node import Node, decode_id, encode_global_id, register_node_type
from magnaprov.schema.pagination import Connection, connection_from_page
from magnaprov.schema.permissions import IsAuthenticated
from magnaprov.templating import Equipment
from magnaprov.templating.catalog_files import template_resource

__all__ = ["ProvisioningTemplateType", "TemplateMutations", "TemplateQueries"]

_TYPE = "ProvisioningTemplate"
DeviceCounter = DataLoader[int, int]


@strawberry.type(
    name="TemplateEquipment",
    description="A manufacturer, model and firmware version a template has files for.",
)
class TemplateEquipmentType:
    manufacturer: str = strawberry.field(description="Catalog key of the manufacturer.")
    model: str = strawberry.field(description="Catalog key of the model.")
    firmware: str = strawberry.field(description="Catalog key of the firmware version.")


@strawberry.type(name="TemplateFile", description="The template text of one file of one equipment.")
class TemplateFileType:
    id: strawberry.ID | None = strawberry.field(
        description="Global ID; null for the Server default's built-in files."
    )
    manufacturer: str = strawberry.field(description="Catalog key of the manufacturer.")
    model: str = strawberry.field(description="Catalog key of the model.")
    firmware: str = strawberry.field(description="Catalog key of the firmware version.")
    file_name: str = strawberry.field(
        description="The catalog's file name pattern, e.g. {mac}.cfg or y000000000066.cfg."
    )
    updated_at: datetime | None = strawberry.field(
        description="When the file was last saved; null for the Server default's files."
    )
    stored: strawberry.Private[str | None]
    built_in: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: TemplateFile) -> TemplateFileType:
        """The GraphQL form of a stored template file."""
        return cls(
            id=encode_global_id("TemplateFile", row.id),
            manufacturer=row.manufacturer,
            model=row.model,
            firmware=row.firmware,
            file_name=row.pattern,
            updated_at=row.updated_at,
            stored=row.source,
            built_in=None,
        )

    @classmethod
    def built_in_file(cls, equipment: Equipment, pattern: str) -> TemplateFileType:
        """The GraphQL form of one of the Server default's files."""
        spec = equipment.firmware.file(pattern)
        maker, model, firmware = equipment.keys
        return cls(
            id=None,
            manufacturer=maker,
            model=model,
            firmware=firmware,
            file_name=pattern,
            updated_at=None,
            stored=None,
            built_in=None if spec is None else spec.template,
        )

    @strawberry.field(
        description="The Jinja2 text. For the Server default, its built-in text (read-only): "
        "extend it with {% extends server_default %} and override its blocks."
    )
    def source(self) -> str:
        if self.stored is not None:
            return self.stored
        return "" if self.built_in is None else template_resource(self.built_in).read_text("utf-8")


@strawberry.type(
    name="ProvisioningTemplate",
    description="A named set of template files owned by an account, or the built-in, "
    "read-only Server default.",
)
class ProvisioningTemplateType(Node):
    name: str = strawberry.field(description="Name, unique per owner regardless of case.")
    description: str = strawberry.field(description="Free text, up to 500 characters.")
    is_server_default: bool = strawberry.field(
        description="Whether this is the built-in Server default (read-only, every file of "
        "every catalog equipment)."
    )
    created_at: datetime | None = strawberry.field(
        description="When the template was created; null for the Server default."
    )
    updated_at: datetime | None = strawberry.field(
        description="When the template or one of its files last changed; null for the "
        "Server default."
    )
    row: strawberry.Private[TemplateRow]
    device_counter: strawberry.Private[DeviceCounter]

    @classmethod
    def from_row(cls, row: TemplateRow, device_counter: DeviceCounter) -> ProvisioningTemplateType:
        """The GraphQL form of a template; `device_counter` batches the deviceCount fields."""
        stored = isinstance(row, ProvisioningTemplate)
        return cls(
            id=encode_global_id(_TYPE, row.id),
            name=row.name,
            description=row.description,
            is_server_default=not stored,
            created_at=row.created_at if isinstance(row, ProvisioningTemplate) else None,
            updated_at=row.updated_at if isinstance(row, ProvisioningTemplate) else None,
            row=row,
            device_counter=device_counter,
        )

    @strawberry.field(
        description="The owning account; null for the Server default and above the viewer."
    )
    async def owner(self, info: Info) -> AccountType | None:
        if isinstance(self.row, ServerDefault):
            return None
        owner = await info.context.loaders.account_by_id.load(self.row.owner_id)
        return None if owner is None else AccountType.from_row(owner)

    @strawberry.field(
        description="The template's files, optionally of one manufacturer, model or firmware."
    )
    async def files(
        self,
        info: Info,
        manufacturer: str | None = None,
        model: str | None = None,
        firmware: str | None = None,
    ) -> list[TemplateFileType]:
        if isinstance(self.row, ServerDefault):
            return [
                TemplateFileType.built_in_file(equipment, pattern)
                for equipment, pattern in templates.server_default_files(
                    manufacturer, model, firmware
                )
            ]
        wanted = (manufacturer, model, firmware)
        return [
            TemplateFileType.from_row(row)
            for row in await info.context.loaders.template_files.load(self.row.id)
            if all(
                want is None or want == have
                for want, have in zip(
                    wanted, (row.manufacturer, row.model, row.firmware), strict=True
                )
            )
        ]

    @strawberry.field(description="The equipment (manufacturer, model, firmware) it has files for.")
    async def equipment(self, info: Info) -> list[TemplateEquipmentType]:
        if isinstance(self.row, ServerDefault):
            triples = [
                equipment.keys for equipment, _ in templates.server_default_files(None, None, None)
            ]
        else:
            triples = templates.equipment_of(
                await info.context.loaders.template_files.load(self.row.id)
            )
        return [
            TemplateEquipmentType(manufacturer=maker, model=model, firmware=firmware)
            for maker, model, firmware in dict.fromkeys(triples)
        ]

    @strawberry.field(description="How many devices the viewer can see use this template.")
    async def device_count(self) -> int:
        return await self.device_counter.load(self.row.id)

    @strawberry.field(
        description="Whether the viewer may rename or delete the template or change its files."
    )
    def viewer_can_modify(self, info: Info) -> bool:
        viewer = info.context.viewer
        return viewer is not None and templates.can_modify_template(viewer, self.row)


def _device_counter(info: Info) -> DeviceCounter:
    """One batch of deviceCount lookups for the templates of one answer."""

    async def load(template_ids: list[int]) -> list[int]:
        async with info.context.db.reading() as session:
            return await templates.count_devices(
                session, info.context.require_viewer(), template_ids
            )

    return DeviceCounter(load)


def _template(info: Info, row: TemplateRow | None) -> ProvisioningTemplateType | None:
    if row is None:
        return None
    # A mutation may have changed the files a loader already holds in this request.
    info.context.loaders.template_files.clear_all()
    return ProvisioningTemplateType.from_row(row, _device_counter(info))


async def _fetch_template(info: Info, template_id: int) -> ProvisioningTemplateType | None:
    viewer = info.context.viewer
    if viewer is None:
        return None
    async with info.context.db.reading() as session:
        row = await templates.get_template(session, viewer, template_id)
    return None if row is None else ProvisioningTemplateType.from_row(row, _device_counter(info))


register_node_type(_TYPE, _fetch_template)


@strawberry.type(description="Result of createProvisioningTemplate.")
class CreateProvisioningTemplatePayload:
    provisioning_template: ProvisioningTemplateType | None = strawberry.field(
        description="The new template."
    )
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of updateProvisioningTemplate.")
class UpdateProvisioningTemplatePayload:
    provisioning_template: ProvisioningTemplateType | None = strawberry.field(
        description="The template as saved."
    )
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of deleteProvisioningTemplate.")
class DeleteProvisioningTemplatePayload:
    deleted_provisioning_template_id: strawberry.ID | None = strawberry.field(
        description="ID of the deleted template."
    )
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of setTemplateFile.")
class SetTemplateFilePayload:
    provisioning_template: ProvisioningTemplateType | None = strawberry.field(
        description="The template as saved."
    )
    template_file: TemplateFileType | None = strawberry.field(description="The file as saved.")
    regenerated_devices: int = strawberry.field(
        description="Devices using the template whose files were rendered again."
    )
    failed_devices: int = strawberry.field(
        description="Devices using the template that could not be rendered; they keep their "
        "previous files."
    )
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of deleteTemplateFile.")
class DeleteTemplateFilePayload:
    provisioning_template: ProvisioningTemplateType | None = strawberry.field(
        description="The template as saved."
    )
    regenerated_devices: int = strawberry.field(
        description="Devices using the template whose files were rendered again."
    )
    failed_devices: int = strawberry.field(
        description="Devices using the template that could not be rendered; they keep their "
        "previous files."
    )
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of previewProvisioningFile; nothing is saved.")
class PreviewProvisioningFilePayload:
    file_name: str | None = strawberry.field(
        description="The file's name for the sample device, e.g. 001565123456.cfg."
    )
    content: str | None = strawberry.field(
        description="The file rendered with the sample data (Panasonic keeps its CRLF line "
        "ends); null when it could not be rendered."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Problems of the input, and of `source` as saving would report them."
    )


def _not_found(field_name: str) -> Problems:
    problems = Problems()
    problems.add(field_name, ErrorCode.NOT_FOUND, "No such provisioning template.")
    return problems


def _set_file_payload(
    info: Info, change: FileChange | None, problems: Problems
) -> SetTemplateFilePayload:
    return SetTemplateFilePayload(
        provisioning_template=None if change is None else _template(info, change.template),
        template_file=(
            None
            if change is None or change.file is None
            else TemplateFileType.from_row(change.file)
        ),
        regenerated_devices=0 if change is None else change.report.devices,
        failed_devices=0 if change is None else len(change.report.failures),
        user_errors=user_errors(problems),
    )


@strawberry.type
class TemplateQueries:
    @strawberry.field(
        description="With manufacturer, model and firmware: the templates the viewer may choose "
        "for a device of that equipment (the Server default first, then its own templates with "
        "files for it). Without them: the Server default and the templates the viewer manages "
        "(its own, and its descendants' with provisioning MODIFY).",
        permission_classes=[IsAuthenticated],
    )
    async def provisioning_templates(
        self,
        info: Info,
        manufacturer: str | None = None,
        model: str | None = None,
        firmware: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ProvisioningTemplateType]:
        viewer = info.context.require_viewer()
        given = [value is not None for value in (manufacturer, model, firmware)]
        if any(given) and not all(given):
            raise InvalidArgument("manufacturer, model, firmware: give all three or none.")
        async with info.context.db.reading() as session:
            if manufacturer is not None and model is not None and firmware is not None:
                page = await templates.choosable_templates(
                    session, viewer, manufacturer, model, firmware, first=first, after=after
                )
            else:
                page = await templates.list_templates(session, viewer, first=first, after=after)
        counter = _device_counter(info)
        return connection_from_page(
            page, lambda row: ProvisioningTemplateType.from_row(row, counter), lambda row: row.id
        )

    @strawberry.field(
        description="One template the viewer may see, or the Server default.",
        permission_classes=[IsAuthenticated],
    )
    async def provisioning_template(
        self, info: Info, id: strawberry.ID
    ) -> ProvisioningTemplateType | None:
        template_id = decode_id(id, _TYPE)
        return None if template_id is None else await _fetch_template(info, template_id)


@strawberry.type
class TemplateMutations:
    @strawberry.mutation(
        description="Create an empty template for yourself or an account below you (not a "
        "user); needs provisioning MODIFY.",
        permission_classes=[IsAuthenticated],
    )
    async def create_provisioning_template(
        self,
        info: Info,
        name: str,
        description: str = "",
        owner_id: strawberry.ID | None = None,
    ) -> CreateProvisioningTemplatePayload:
        owner = None if owner_id is None else decode_id(owner_id, "Account")
        if owner_id is not None and owner is None:
            problems = Problems()
            problems.add("ownerId", ErrorCode.NOT_FOUND, "No such account.")
            return CreateProvisioningTemplatePayload(
                provisioning_template=None, user_errors=user_errors(problems)
            )
        ctx = info.context
        row, problems = await templates.create_template(
            ctx.db,
            ctx.require_viewer(),
            ctx.client_address,
            templates.NewTemplate(name, description, owner),
        )
        return CreateProvisioningTemplatePayload(
            provisioning_template=_template(info, row), user_errors=user_errors(problems)
        )

    @strawberry.mutation(
        description="Rename a template or change its description.",
        permission_classes=[IsAuthenticated],
    )
    async def update_provisioning_template(
        self,
        info: Info,
        id: strawberry.ID,
        name: str | None = None,
        description: str | None = None,
    ) -> UpdateProvisioningTemplatePayload:
        template_id = decode_id(id, _TYPE)
        if template_id is None:
            return UpdateProvisioningTemplatePayload(
                provisioning_template=None, user_errors=user_errors(_not_found("id"))
            )
        ctx = info.context
        row, problems = await templates.update_template(
            ctx.db,
            ctx.require_viewer(),
            ctx.client_address,
            template_id,
            templates.TemplateChanges(name, description),
        )
        return UpdateProvisioningTemplatePayload(
            provisioning_template=_template(info, row), user_errors=user_errors(problems)
        )

    @strawberry.mutation(
        description="Delete a template with its files; refused while devices use it.",
        permission_classes=[IsAuthenticated],
    )
    async def delete_provisioning_template(
        self, info: Info, id: strawberry.ID
    ) -> DeleteProvisioningTemplatePayload:
        template_id = decode_id(id, _TYPE)
        ctx = info.context
        problems = (
            _not_found("id")
            if template_id is None
            else await templates.delete_template(
                ctx.db, ctx.require_viewer(), ctx.client_address, template_id
            )
        )
        return DeleteProvisioningTemplatePayload(
            deleted_provisioning_template_id=None if problems else id,
            user_errors=user_errors(problems),
        )

    @strawberry.mutation(
        description="Save one file of a template: checked (compiled and rendered with sample "
        "data) first, then every device using the template is rendered again.",
        permission_classes=[IsAuthenticated],
    )
    async def set_template_file(
        self,
        info: Info,
        template_id: strawberry.ID,
        manufacturer: str,
        model: str,
        firmware: str,
        file_name: str,
        # Named apart in Python: Strawberry's permission hook takes a `source` argument itself.
        text: Annotated[
            str, strawberry.argument(name="source", description="The file's Jinja2 text.")
        ],
    ) -> SetTemplateFilePayload:
        row_id = decode_id(template_id, _TYPE)
        if row_id is None:
            return _set_file_payload(info, None, _not_found("templateId"))
        ctx = info.context
        change, problems = await templates.set_template_file(
            ctx.db,
            ctx.services,
            ctx.require_viewer(),
            ctx.client_address,
            row_id,
            FileKey(manufacturer, model, firmware, file_name),
            text,
        )
        return _set_file_payload(info, change, problems)

    @strawberry.mutation(
        description="Remove one file of a template (its devices use the Server default's file "
        "again); every device using the template is rendered again.",
        permission_classes=[IsAuthenticated],
    )
    async def delete_template_file(
        self,
        info: Info,
        template_id: strawberry.ID,
        manufacturer: str,
        model: str,
        firmware: str,
        file_name: str,
    ) -> DeleteTemplateFilePayload:
        row_id = decode_id(template_id, _TYPE)
        ctx = info.context
        change, problems = (
            (None, _not_found("templateId"))
            if row_id is None
            else await templates.delete_template_file(
                ctx.db,
                ctx.services,
                ctx.require_viewer(),
                ctx.client_address,
                row_id,
                FileKey(manufacturer, model, firmware, file_name),
            )
        )
        return DeleteTemplateFilePayload(
            provisioning_template=None if change is None else _template(info, change.template),
            regenerated_devices=0 if change is None else change.report.devices,
            failed_devices=0 if change is None else len(change.report.failures),
            user_errors=user_errors(problems),
        )

    @strawberry.mutation(
        description="Render one file with sample data without saving anything: `source` when "
        "given, else the template's stored file, else the Server default's. `deviceId` "
        "(rendering with a real device's data) is not available yet.",
        permission_classes=[IsAuthenticated],
    )
    async def preview_provisioning_file(
        self,
        info: Info,
        manufacturer: str,
        model: str,
        firmware: str,
        file_name: str,
        template_id: strawberry.ID | None = None,
        text: Annotated[
            str | None,
            strawberry.argument(
                name="source", description="Text to render instead of the stored one."
            ),
        ] = None,
        device_id: strawberry.ID | None = None,
    ) -> PreviewProvisioningFilePayload:
        ctx = info.context
        row_id = None if template_id is None else decode_id(template_id, _TYPE)
        if template_id is not None and row_id is None:
            row_id = -1  # reported as "not found", like any template the viewer cannot see
        device = None if device_id is None else (decode_id(device_id, "Device") or -1)
        preview, problems = await templates.preview_file(
            ctx.db,
            ctx.require_viewer(),
            row_id,
            FileKey(manufacturer, model, firmware, file_name),
            text,
            secrets=ctx.services.secrets,
            device_id=device,
        )
        return PreviewProvisioningFilePayload(
            file_name=None if preview is None else preview.file_name,
            content=None if preview is None else preview.content,
            user_errors=user_errors(problems),
        )
