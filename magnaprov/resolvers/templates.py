"""Use cases of provisioning templates: list, choose, read, create, change, delete, preview.

Templates are private. A viewer manages its own templates and, with effective provisioning
MODIFY, its descendants'; when provisioning a device it chooses among the Server default and
its **own** templates with files for the device's equipment. The Server default is built in
and read-only; it stands here as `SERVER_DEFAULT` (id 0, which no stored row has).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, false, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from magnaprov.db import (
    UNSCOPED,
    Account,
    Device,
    Extension,
    ProvisioningTemplate,
    Role,
    TemplateFile,
    utcnow,
)
from magnaprov.resolvers.audit import record
from magnaprov.resolvers.database import RequestDatabase
from magnaprov.resolvers.errors import ErrorCode, InvalidArgument, Problems
from magnaprov.resolvers.pagination import DEFAULT_PAGE_SIZE, Page, paginate
from magnaprov.resolvers.rendering import RenderReport, load_render_input, render_devices
from magnaprov.resolvers.services import Services
from magnaprov.resolvers.text_input import check_name
from magnaprov.resolvers.visible_devices import visible_devices_filter
from magnaprov.templating import (
    DeviceRenderInput,
    Equipment,
    TemplateProblem,
    TemplateRenderError,
    compile_template_file,
    find_equipment,
    load_catalog,
    render_file,
    sample_render_input,
)
from magnaprov.tenancy import (
    SecretBox,
    Viewer,
    device_access,
    manages_descendants_templates,
    may_choose_own_templates,
    may_modify_template,
    may_see_device_secrets,
    may_see_template,
)

__all__ = [
    "SERVER_DEFAULT",
    "SERVER_DEFAULT_ID",
    "FileChange",
    "FileKey",
    "NewTemplate",
    "Preview",
    "ServerDefault",
    "TemplateChanges",
    "TemplateRow",
    "can_modify_template",
    "choosable_templates",
    "count_devices",
    "create_template",
    "delete_template",
    "delete_template_file",
    "get_template",
    "list_templates",
    "may_choose_template",
    "preview_file",
    "set_template_file",
    "update_template",
]

SERVER_DEFAULT_ID = 0
MAX_NAME = 100
MAX_DESCRIPTION = 500
_OBJECT_TYPE = "provisioning_template"


@dataclass(frozen=True, slots=True)
class ServerDefault:
    """The built-in Server default template: every file of every catalog equipment."""

    id: int = SERVER_DEFAULT_ID
    name: str = "Server default"
    description: str = "Built-in files for every phone of the catalog; read-only."


SERVER_DEFAULT = ServerDefault()
TemplateRow = ProvisioningTemplate | ServerDefault


@dataclass(frozen=True, slots=True)
class NewTemplate:
    """Input of `create_template`; no owner means the viewer."""

    name: str
    description: str = ""
    owner_id: int | None = None


@dataclass(frozen=True, slots=True)
class TemplateChanges:
    """Input of `update_template`: None leaves a field as it is."""

    name: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class FileKey:
    """Which file of a template: an equipment and one of its file name patterns."""

    manufacturer: str
    model: str
    firmware: str
    file_name: str


@dataclass(frozen=True, slots=True)
class FileChange:
    """A template after one of its files changed, and the re-render of its devices."""

    template: ProvisioningTemplate
    file: TemplateFile | None
    report: RenderReport


@dataclass(frozen=True, slots=True)
class Preview:
    """A file rendered with the sample data, as text."""

    file_name: str
    content: str


def can_modify_template(viewer: Viewer, template: TemplateRow) -> bool:
    """Whether the viewer may rename, delete or change the files of the template (the
    Server default, stored nowhere, is read-only)."""
    if isinstance(template, ServerDefault):
        return False
    return may_modify_template(viewer, template.tree_path)


async def list_templates(
    session: AsyncSession, viewer: Viewer, *, first: int | None, after: str | None
) -> Page[TemplateRow]:
    """The Server default, then the templates the viewer manages, oldest first."""
    statement = select(ProvisioningTemplate).where(_managed_condition(viewer))
    return await _after_server_default(session, statement, first, after)


async def choosable_templates(
    session: AsyncSession,
    viewer: Viewer,
    manufacturer: str,
    model: str,
    firmware: str,
    *,
    first: int | None = None,
    after: str | None = None,
) -> Page[TemplateRow]:
    """What the viewer may pick for a device of this equipment: the Server default first, then
    its own templates with at least one file for it (the admin's choice is its own too; a user
    has only the Server default)."""
    if find_equipment(manufacturer, model, firmware) is None:
        raise InvalidArgument("manufacturer, model, firmware: no such equipment in the catalog.")
    statement = select(ProvisioningTemplate).where(
        _choosable_condition(viewer, manufacturer, model, firmware)
    )
    return await _after_server_default(session, statement, first, after)


async def may_choose_template(
    session: AsyncSession,
    viewer: Viewer,
    template_id: int | None,
    manufacturer: str,
    model: str,
    firmware: str,
) -> bool:
    """Whether the viewer may pick this template for a device of this equipment.

    None (or the Server default's id) is the Server default, which anyone may pick.
    """
    if template_id is None or template_id == SERVER_DEFAULT_ID:
        return True
    found = await session.scalar(
        select(
            exists().where(
                ProvisioningTemplate.id == template_id,
                _choosable_condition(viewer, manufacturer, model, firmware),
            )
        )
    )
    return bool(found)


async def get_template(
    session: AsyncSession, viewer: Viewer, template_id: int
) -> TemplateRow | None:
    """The template if the viewer may see it: its own, or a descendant's with MODIFY."""
    if template_id == SERVER_DEFAULT_ID:
        return SERVER_DEFAULT
    template = await session.get(ProvisioningTemplate, template_id)
    if template is None or not may_see_template(viewer, template.owner_id, template.tree_path):
        return None
    return template


async def count_devices(
    session: AsyncSession, viewer: Viewer, template_ids: Sequence[int]
) -> list[int]:
    """How many devices the viewer can see use each template (id 0: the Server default)."""
    template_id = func.coalesce(Device.template_id, SERVER_DEFAULT_ID)
    rows = await session.execute(
        select(template_id, func.count())
        .select_from(Device)
        .join(Extension, Extension.id == Device.extension_id)
        .where(visible_devices_filter(viewer), template_id.in_(sorted(set(template_ids))))
        .group_by(template_id)
    )
    counts: dict[int, int] = {row[0]: row[1] for row in rows}
    return [counts.get(wanted, 0) for wanted in template_ids]


async def create_template(
    db: RequestDatabase, viewer: Viewer, client_address: str | None, new: NewTemplate
) -> tuple[ProvisioningTemplate | None, Problems]:
    """A template owned by the viewer or by an account below it that is not a user."""
    problems = Problems()
    name = check_name(new.name, problems, limit=MAX_NAME)
    description = _check_description(new.description, problems)
    _require_modify(viewer, None, "Creating templates", problems)
    async with db.writing() as session:
        owner = await _owner(session, viewer, new.owner_id, problems)
        if owner is not None:
            await _check_name_free(session, owner.id, name, None, problems)
        if problems or owner is None:
            return None, problems
        template = ProvisioningTemplate(
            owner_id=owner.id, tree_path=owner.tree_path, name=name, description=description
        )
        session.add(template)
        await session.flush()
        await record(
            session,
            viewer,
            client_address,
            "template.create",
            _OBJECT_TYPE,
            template.id,
            {"name": name, "owner_id": owner.id},
            subject_path=template.tree_path,
        )
        await session.commit()
    return template, problems


async def update_template(
    db: RequestDatabase,
    viewer: Viewer,
    client_address: str | None,
    template_id: int,
    changes: TemplateChanges,
) -> tuple[ProvisioningTemplate | None, Problems]:
    """Rename a template or change its description."""
    problems = Problems()
    name = None if changes.name is None else check_name(changes.name, problems, limit=MAX_NAME)
    description = (
        None if changes.description is None else _check_description(changes.description, problems)
    )
    async with db.writing() as session:
        template = await _modifiable(session, viewer, template_id, "id", problems)
        if template is not None and name is not None:
            await _lock_owner(session, template.owner_id)
            await _check_name_free(session, template.owner_id, name, template.id, problems)
        if problems or template is None:
            return None, problems
        changed = [
            field_name
            for field_name, value in (("name", name), ("description", description))
            if value is not None
        ]
        template.name = name if name is not None else template.name
        template.description = description if description is not None else template.description
        template.updated_at = utcnow()
        await record(
            session,
            viewer,
            client_address,
            "template.update",
            _OBJECT_TYPE,
            template.id,
            {"name": template.name, "fields": ",".join(changed)},
            subject_path=template.tree_path,
        )
        await session.commit()
    return template, problems


async def delete_template(
    db: RequestDatabase, viewer: Viewer, client_address: str | None, template_id: int
) -> Problems:
    """Delete a template and its files; refused while any device uses it."""
    problems = Problems()
    async with db.writing() as session:
        template = await _modifiable(session, viewer, template_id, "id", problems)
        if template is None:
            return problems
        users = await _count_devices_using(session, template.id)
        if users:
            problems.add("id", ErrorCode.HAS_CHILDREN, _in_use_message(users))
            return problems
        await record(
            session,
            viewer,
            client_address,
            "template.delete",
            _OBJECT_TYPE,
            template.id,
            {"name": template.name},
            subject_path=template.tree_path,
        )
        try:
            # The database cascades to the template's files.
            await session.execute(
                delete(ProvisioningTemplate).where(ProvisioningTemplate.id == template.id)
            )
            await session.commit()
        except IntegrityError:
            problems.add("id", ErrorCode.HAS_CHILDREN, _in_use_message(1))  # a device came in
    return problems


async def set_template_file(
    db: RequestDatabase,
    services: Services,
    viewer: Viewer,
    client_address: str | None,
    template_id: int,
    key: FileKey,
    source: str,
) -> tuple[FileChange | None, Problems]:
    """Check a file's source (compile and test-render), store it, re-render the template's
    devices; all in one transaction."""
    problems = Problems()
    equipment = _catalog_file(key, problems)
    if equipment is not None:
        check = await asyncio.to_thread(compile_template_file, equipment, key.file_name, source)
        _report_template_problems(check.problems, problems)
    async with db.writing() as session:
        template = await _modifiable(session, viewer, template_id, "templateId", problems)
        if problems or template is None:
            return None, problems
        file = await _stored_file(session, template.id, key)
        if file is None:
            file = TemplateFile(
                template_id=template.id,
                manufacturer=key.manufacturer,
                model=key.model,
                firmware=key.firmware,
                pattern=key.file_name,
                source=source,
            )
            session.add(file)
        file.source = source
        file.updated_at = template.updated_at = utcnow()
        try:
            await session.flush()
        except IntegrityError:
            problems.add("fileName", ErrorCode.TAKEN, "This file was just added; try again.")
            return None, problems
        report = await _rerender(session, services, template.id)
        await _record_file(session, viewer, client_address, "template.file.set", template, key)
        await session.commit()
    return FileChange(template, file, report), problems


async def delete_template_file(
    db: RequestDatabase,
    services: Services,
    viewer: Viewer,
    client_address: str | None,
    template_id: int,
    key: FileKey,
) -> tuple[FileChange | None, Problems]:
    """Remove a file from a template (its devices fall back to the Server default's file)."""
    problems = Problems()
    async with db.writing() as session:
        template = await _modifiable(session, viewer, template_id, "templateId", problems)
        file = None if template is None else await _stored_file(session, template.id, key)
        if template is not None and file is None:
            problems.add("fileName", ErrorCode.NOT_FOUND, "This template has no such file.")
        if problems or template is None or file is None:
            return None, problems
        await session.delete(file)
        template.updated_at = utcnow()
        await session.flush()
        report = await _rerender(session, services, template.id)
        await _record_file(session, viewer, client_address, "template.file.delete", template, key)
        await session.commit()
    return FileChange(template, None, report), problems


async def preview_file(
    db: RequestDatabase,
    viewer: Viewer,
    template_id: int | None,
    key: FileKey,
    source: str | None,
    *,
    secrets: SecretBox,
    device_id: int | None = None,
) -> tuple[Preview | None, Problems]:
    """Render one file with the sample data, or a device's own data, writing nothing.

    The text is `source` when given (checked as on save: its problems are reported, and the
    content is still returned when it rendered), else the template's stored file, else the
    Server default's. With `device_id`, the values come from that device, which the viewer
    must be allowed to modify (the output holds its secrets).
    """
    problems = Problems()
    equipment = _catalog_file(key, problems)
    stored = None
    data = None
    if device_id is not None:
        async with db.reading() as session:
            data = await _device_input(session, secrets, viewer, device_id, key, problems)
    if template_id is not None:
        async with db.reading() as session:
            template = await get_template(session, viewer, template_id)
            if template is None:
                problems.add("templateId", ErrorCode.NOT_FOUND, "No such provisioning template.")
            elif source is None and isinstance(template, ProvisioningTemplate):
                file = await _stored_file(session, template.id, key)
                stored = None if file is None else file.source
    if problems or equipment is None:
        return None, problems
    rendered = None
    if source is not None:
        check = await asyncio.to_thread(compile_template_file, equipment, key.file_name, source)
        _report_template_problems(check.problems, problems)
        rendered = check.sample  # the sample rendering, shown even when a check failed
    if source is None or (data is not None and not problems):
        text = source if source is not None else stored
        try:
            rendered = await asyncio.to_thread(
                render_file, equipment, key.file_name, text, data or sample_render_input(equipment)
            )
        except TemplateRenderError as error:
            _report_template_problems([_problem_of(error)], problems)
            rendered = None
    if rendered is None:
        return None, problems
    return Preview(rendered.name, rendered.content.decode("utf-8")), problems


async def _device_input(
    session: AsyncSession,
    secrets: SecretBox,
    viewer: Viewer,
    device_id: int,
    key: FileKey,
    problems: Problems,
) -> DeviceRenderInput | None:
    device = await session.get(Device, device_id)  # scoped: other tenants' devices are absent
    extension = None if device is None else await session.get(Extension, device.extension_id)
    if (
        device is None
        or extension is None
        or not may_see_device_secrets(device_access(viewer, extension))
    ):
        problems.add("deviceId", ErrorCode.NOT_FOUND, "No such device.")
        return None
    if (device.manufacturer, device.model, device.firmware) != (
        key.manufacturer,
        key.model,
        key.firmware,
    ):
        problems.add(
            "deviceId", ErrorCode.INVALID, "This device is of another equipment than the file."
        )
        return None
    return await load_render_input(session, secrets, device.id)


def server_default_files(
    manufacturer: str | None, model: str | None, firmware: str | None
) -> list[tuple[Equipment, str]]:
    """(equipment, file pattern) of every Server default file, optionally of one equipment."""
    wanted = (manufacturer, model, firmware)
    return [
        (equipment, spec.pattern)
        for equipment in load_catalog().equipment()
        if all(
            want is None or want == have for want, have in zip(wanted, equipment.keys, strict=True)
        )
        for spec in equipment.firmware.files
    ]


def equipment_of(files: Iterable[TemplateFile]) -> list[tuple[str, str, str]]:
    """The distinct (manufacturer, model, firmware) triples the files are for, sorted."""
    return sorted({(file.manufacturer, file.model, file.firmware) for file in files})


def _managed_condition(viewer: Viewer) -> ColumnElement[bool]:
    if manages_descendants_templates(viewer):
        # Repeats the session's scope on purpose: the rule reads whole here.
        return ProvisioningTemplate.tree_path.like(f"{viewer.tree_path}%")
    return ProvisioningTemplate.owner_id == viewer.account_id


def _choosable_condition(
    viewer: Viewer, manufacturer: str, model: str, firmware: str
) -> ColumnElement[bool]:
    if not may_choose_own_templates(viewer):
        return false()
    return (ProvisioningTemplate.owner_id == viewer.account_id) & exists().where(
        TemplateFile.template_id == ProvisioningTemplate.id,
        TemplateFile.manufacturer == manufacturer,
        TemplateFile.model == model,
        TemplateFile.firmware == firmware,
    )


async def _after_server_default(
    session: AsyncSession,
    statement: Select[ProvisioningTemplate],
    first: int | None,
    after: str | None,
) -> Page[TemplateRow]:
    """A page of `statement` with the Server default before everything (its cursor is id 0)."""
    size = DEFAULT_PAGE_SIZE if first is None else first
    key = ProvisioningTemplate.id
    if after is not None or size <= 0:
        # Every cursor, the Server default's included, lies at or after id 0.
        page = await paginate(session, statement, key, size, after)
        rows: list[TemplateRow] = list(page.rows)
        has_next = page.has_next_page or after is None  # first: 0 leaves the default out
        return Page(rows, has_next, after is not None, _plus_one(page.count_statement))
    page = await paginate(session, statement, key, size - 1, None)
    return Page(
        [SERVER_DEFAULT, *page.rows], page.has_next_page, False, _plus_one(page.count_statement)
    )


def _plus_one(count_statement: Select[Any]) -> Select[Any]:
    return select(count_statement.scalar_subquery() + 1)


def _check_description(description: str, problems: Problems) -> str:
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        problems.add(
            "description",
            ErrorCode.TOO_LONG,
            f"Description must be at most {MAX_DESCRIPTION} characters.",
        )
    return description


def _require_modify(viewer: Viewer, field_name: str | None, what: str, problems: Problems) -> None:
    if not manages_descendants_templates(viewer):
        problems.add(
            field_name,
            ErrorCode.NOT_ALLOWED,
            f"{what} needs the MODIFY provisioning permission.",
        )


async def _owner(
    session: AsyncSession, viewer: Viewer, owner_id: int | None, problems: Problems
) -> Account | None:
    field_name = None if owner_id is None else "ownerId"
    owner = await session.get(Account, viewer.account_id if owner_id is None else owner_id)
    if owner is None or not viewer.sees(owner.tree_path):
        problems.add("ownerId", ErrorCode.NOT_FOUND, "No such account.")
        return None
    if owner.role is Role.USER:
        code = ErrorCode.NOT_ALLOWED if owner_id is None else ErrorCode.INVALID
        problems.add(field_name, code, "User accounts do not own provisioning templates.")
        return None
    await _lock_owner(session, owner.id)
    return owner


async def _lock_owner(session: AsyncSession, owner_id: int) -> None:
    """Make name checks of one owner take turns (PostgreSQL; SQLite writers already queue)."""
    await session.execute(select(Account.id).where(Account.id == owner_id).with_for_update())


async def _check_name_free(
    session: AsyncSession, owner_id: int, name: str, exclude_id: int | None, problems: Problems
) -> None:
    """Names are unique per owner regardless of case (compared here: SQLite's lower() is
    ASCII-only)."""
    statement = select(ProvisioningTemplate.name).where(ProvisioningTemplate.owner_id == owner_id)
    if exclude_id is not None:
        statement = statement.where(ProvisioningTemplate.id != exclude_id)
    folded = name.casefold()
    if any(other.casefold() == folded for other in await session.scalars(statement)):
        problems.add("name", ErrorCode.TAKEN, "This owner already has a template of that name.")


async def _modifiable(
    session: AsyncSession, viewer: Viewer, template_id: int, field_name: str, problems: Problems
) -> ProvisioningTemplate | None:
    """The template if the viewer may change it; a problem on `field_name` otherwise."""
    if template_id == SERVER_DEFAULT_ID:
        problems.add(field_name, ErrorCode.NOT_ALLOWED, "The Server default template is read-only.")
        return None
    template = await get_template(session, viewer, template_id)
    if not isinstance(template, ProvisioningTemplate):
        problems.add(field_name, ErrorCode.NOT_FOUND, "No such provisioning template.")
        return None
    _require_modify(viewer, field_name, "Changing templates", problems)
    return template if can_modify_template(viewer, template) else None


def _catalog_file(key: FileKey, problems: Problems) -> Equipment | None:
    """The equipment of `key` if it is in the catalog and has the file; field-named problems
    otherwise."""
    maker = load_catalog().manufacturer(key.manufacturer)
    model = None if maker is None else maker.model(key.model)
    firmware = None if model is None else model.firmware(key.firmware)
    if maker is None:
        problems.add("manufacturer", ErrorCode.NOT_FOUND, "No such manufacturer in the catalog.")
    elif model is None:
        problems.add("model", ErrorCode.NOT_FOUND, "No such model of this manufacturer.")
    elif firmware is None:
        problems.add("firmware", ErrorCode.NOT_FOUND, "No such firmware version of this model.")
    elif firmware.file(key.file_name) is None:
        names = ", ".join(spec.pattern for spec in firmware.files)
        problems.add("fileName", ErrorCode.INVALID, f"This equipment's files are: {names}.")
    else:
        return Equipment(maker, model, firmware)
    return None


def _problem_of(error: TemplateRenderError) -> TemplateProblem:
    return TemplateProblem(error.file, error.line, error.message)


def _report_template_problems(found: Iterable[TemplateProblem], problems: Problems) -> None:
    for problem in found:
        where = problem.file if problem.line is None else f"{problem.file}, line {problem.line}"
        problems.add("source", ErrorCode.INVALID, f"{where}: {problem.message}")


async def _stored_file(
    session: AsyncSession, template_id: int, key: FileKey
) -> TemplateFile | None:
    return (
        await session.scalars(
            select(TemplateFile).where(
                TemplateFile.template_id == template_id,
                TemplateFile.manufacturer == key.manufacturer,
                TemplateFile.model == key.model,
                TemplateFile.firmware == key.firmware,
                TemplateFile.pattern == key.file_name,
            )
        )
    ).one_or_none()


async def _devices_using(session: AsyncSession, template_id: int) -> list[int]:
    """Every device using the template, across all tenants: unscoped because each of them
    must get fresh files (and blocks deletion), whoever can see it; only ids leave here."""
    return list(
        await session.scalars(
            select(Device.id).where(Device.template_id == template_id).execution_options(**UNSCOPED)
        )
    )


async def _count_devices_using(session: AsyncSession, template_id: int) -> int:
    """How many devices use the template, across all tenants: unscoped because any of them
    blocks the deletion; only the number leaves here."""
    count = await session.scalar(
        select(func.count())
        .select_from(Device)
        .where(Device.template_id == template_id)
        .execution_options(**UNSCOPED)
    )
    return int(count or 0)


async def _rerender(session: AsyncSession, services: Services, template_id: int) -> RenderReport:
    return await render_devices(
        session, services.secrets, await _devices_using(session, template_id)
    )


async def _record_file(
    session: AsyncSession,
    viewer: Viewer,
    client_address: str | None,
    action: str,
    template: ProvisioningTemplate,
    key: FileKey,
) -> None:
    await record(
        session,
        viewer,
        client_address,
        action,
        _OBJECT_TYPE,
        template.id,
        {
            "name": template.name,
            "equipment": f"{key.manufacturer}/{key.model}/{key.firmware}",
            "file": key.file_name,
        },
        subject_path=template.tree_path,
    )


def _in_use_message(count: int) -> str:
    if count == 1:
        return "1 device uses this template; move it to another template first."
    return f"{count} devices use this template; move them to another template first."
