"""The `Extension` type, its queries and its mutations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

import strawberry

from magnaprov.db import Extension, ExtensionType, ProvisioningLevel
from magnaprov.resolvers import Problems, extensions
from magnaprov.resolvers.errors import ErrorCode
from magnaprov.schema.accounts import AccountType
from magnaprov.schema.context import Info
from magnaprov.schema.devices import DeviceType
from magnaprov.schema.errors import UserError, user_errors
from magnaprov.schema.node import Node, decode_id, encode_global_id, register_node_type
from magnaprov.schema.pagination import Connection, connection_from_page
from magnaprov.schema.permissions import IsAuthenticated
from magnaprov.schema.preloading import NOT_LOADED, NotLoaded, deferred, preloaded_from
from magnaprov.schema.row_objects import column, column_values
from magnaprov.schema.sip_preferences import SipPreferencesType
from magnaprov.tenancy import device_access, sip_access

__all__ = ["ExtensionMutations", "ExtensionQueries", "ExtensionType_"]

strawberry.enum(
    ExtensionType, description="What an extension reaches; only phone terminals have SIP phones."
)


@strawberry.type(name="Extension", description="A phone extension owned by a user account.")
class ExtensionType_(Node):
    id: strawberry.ID = strawberry.field(
        description="Opaque global identifier.",
        metadata=column(Extension.id, partial(encode_global_id, "Extension")),
    )
    type: ExtensionType = strawberry.field(
        description="What the extension reaches.", metadata=column(Extension.type)
    )
    name: str = strawberry.field(
        description="Display name, e.g. John Smith.", metadata=column(Extension.name)
    )
    number: str = strawberry.field(
        description="Three-digit number inside the organization, e.g. 001.",
        metadata=column(Extension.number),
    )
    full_number: str = strawberry.field(
        description="Organization code and number, e.g. 0027*001.",
        metadata=column(Extension.full_number),
    )
    provisioning: ProvisioningLevel = strawberry.field(
        description='"Allow to provision devices" on this extension.',
        metadata=column(Extension.provisioning),
    )
    chat_server_access: bool = strawberry.field(
        description="Enable chat server access.", metadata=column(Extension.chat_server_access)
    )
    created_at: datetime = strawberry.field(
        description="When the extension was added.", metadata=column(Extension.created_at)
    )
    row: strawberry.Private[Extension]
    owner_type: strawberry.Private[AccountType | NotLoaded | None] = NOT_LOADED

    @classmethod
    def from_row(
        cls, row: Extension, owner: AccountType | NotLoaded | None = NOT_LOADED
    ) -> ExtensionType_:
        """The GraphQL form of an extension row (with its owner, when a list preloaded it)."""
        return cls(**column_values(cls, row), row=row, owner_type=owner)

    @strawberry.field(
        description="The user account that owns the extension.",
        metadata=preloaded_from("owner_type"),
    )
    def owner(self, info: Info) -> AccountType | None:
        if isinstance(self.owner_type, NotLoaded):
            return deferred(self._load_owner(info))
        return self.owner_type

    async def _load_owner(self, info: Info) -> AccountType | None:
        owner = await info.context.loaders.account_by_id.load(self.row.owner_id)
        return None if owner is None else AccountType.from_row(owner)

    @strawberry.field(description="The owner's organization; null when it lies above the viewer.")
    async def organization(self, info: Info) -> AccountType | None:
        organization = await info.context.loaders.account_by_id.load(self.row.organization_id)
        return None if organization is None else AccountType.from_row(organization)

    @strawberry.field(
        description='"SIP and IM Preferences" with chat server access, else "SIP Preferences".'
    )
    def sip_preferences_title(self) -> str:
        return "SIP and IM Preferences" if self.row.chat_server_access else "SIP Preferences"

    @strawberry.field(
        description="SIP preferences; null for extensions other than phone terminals."
    )
    async def sip_preferences(self, info: Info) -> SipPreferencesType | None:
        if not self.row.is_phone_terminal:
            return None
        row = await info.context.loaders.sip_preferences.load(self.row.id)
        viewer = info.context.require_viewer()
        return None if row is None else SipPreferencesType.from_row(row, sip_access(viewer))

    @strawberry.field(
        description="What the viewer may do with this extension's device: NONE hides it."
    )
    def viewer_provisioning(self, info: Info) -> ProvisioningLevel:
        return device_access(info.context.require_viewer(), self.row)

    @strawberry.field(
        description="The extension's SIP phone; null if none or hidden from the viewer."
    )
    async def device(self, info: Info) -> DeviceType | None:
        access = device_access(info.context.require_viewer(), self.row)
        if not self.row.is_phone_terminal or access is ProvisioningLevel.NONE:
            return None
        row = await info.context.loaders.device_by_extension.load(self.row.id)
        return None if row is None else DeviceType.from_row(row, access)

    @strawberry.field(
        description="Whether the viewer may rename, renumber or delete the extension."
    )
    def viewer_can_modify(self, info: Info) -> bool:
        viewer = info.context.viewer
        return viewer is not None and viewer.manages(self.row.tree_path)


async def extension_types(info: Info, rows: Sequence[Extension]) -> list[ExtensionType_]:
    """Extensions for a list, with their owners loaded in one batch (one object per owner)."""
    owner_ids = sorted({row.owner_id for row in rows})
    owner_rows = await info.context.loaders.account_by_id.load_many(owner_ids)
    owners = {
        owner_id: None if owner is None else AccountType.from_row(owner)
        for owner_id, owner in zip(owner_ids, owner_rows, strict=True)
    }
    return [ExtensionType_.from_row(row, owners[row.owner_id]) for row in rows]


async def _fetch_extension(info: Info, extension_id: int) -> ExtensionType_ | None:
    if info.context.viewer is None:
        return None
    async with info.context.db.reading() as session:
        row = await extensions.get_extension(session, extension_id)
    return None if row is None else ExtensionType_.from_row(row)


register_node_type("Extension", _fetch_extension)


@strawberry.type(description="Result of createExtension.")
class CreateExtensionPayload:
    extension: ExtensionType_ | None = strawberry.field(description="The new extension.")
    message: str | None = strawberry.field(
        description="Confirmation, e.g. "
        '"Extension John Smith (0027*001) has been successfully added."'
    )
    provision_next: bool = strawberry.field(
        description="The viewer chose to provision every new extension: "
        "go to the provisioning step."
    )
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of updateExtension.")
class UpdateExtensionPayload:
    extension: ExtensionType_ | None = strawberry.field(description="The extension as saved.")
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of deleteExtension.")
class DeleteExtensionPayload:
    deleted_extension_id: strawberry.ID | None = strawberry.field(
        description="ID of the deleted extension."
    )
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of setProvisionNewExtensions.")
class SetProvisionNewExtensionsPayload:
    enabled: bool = strawberry.field(description="The preference as saved.")
    user_errors: list[UserError] = strawberry.field(description="Always empty.")


def _not_found(field_name: str, what: str = "extension") -> Problems:
    problems = Problems()
    problems.add(field_name, ErrorCode.NOT_FOUND, f"No such {what}.")
    return problems


@strawberry.type
class ExtensionQueries:
    @strawberry.field(
        description="Extensions of the viewer's subtree, optionally below one account.",
        permission_classes=[IsAuthenticated],
    )
    async def extensions(
        self,
        info: Info,
        account_id: strawberry.ID | None = None,
        search: str | None = None,
        type: ExtensionType | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ExtensionType_]:
        under = None if account_id is None else (decode_id(account_id, "Account") or -1)
        async with info.context.db.reading() as session:
            page = await extensions.list_extensions(
                session, under_account_id=under, search=search, type_=type, first=first, after=after
            )
        preloaded = {ext.row.id: ext for ext in await extension_types(info, page.rows)}
        return connection_from_page(page, lambda row: preloaded[row.id], lambda row: row.id)

    @strawberry.field(
        description="One extension, by global ID or by full number such as 0027*001.",
        permission_classes=[IsAuthenticated],
    )
    async def extension(
        self,
        info: Info,
        id: strawberry.ID | None = None,
        number: str | None = None,
    ) -> ExtensionType_ | None:
        if id is not None:
            row_id = decode_id(id, "Extension")
            return None if row_id is None else await _fetch_extension(info, row_id)
        if number is None:
            return None
        async with info.context.db.reading() as session:
            row = await extensions.get_extension_by_number(session, number)
        return None if row is None else ExtensionType_.from_row(row)


@strawberry.type
class ExtensionMutations:
    @strawberry.mutation(
        description="Add an extension for a user below you; without a number, the next free one.",
        permission_classes=[IsAuthenticated],
    )
    async def create_extension(
        self,
        info: Info,
        owner_id: strawberry.ID,
        type: ExtensionType,
        name: str,
        number: str | None = None,
        provisioning: ProvisioningLevel | None = None,
        chat_server_access: bool = False,
    ) -> CreateExtensionPayload:
        owner = decode_id(owner_id, "Account")
        if owner is None:
            return CreateExtensionPayload(
                extension=None,
                message=None,
                provision_next=False,
                user_errors=user_errors(_not_found("ownerId", "account")),
            )
        new = extensions.NewExtension(owner, type, name, number, provisioning, chat_server_access)
        created, problems = await extensions.create_extension(
            info.context.db, info.context.require_viewer(), new
        )
        return CreateExtensionPayload(
            extension=None if created is None else ExtensionType_.from_row(created.extension),
            message=None if created is None else created.message,
            provision_next=created is not None and created.provision_next,
            user_errors=user_errors(problems),
        )

    @strawberry.mutation(
        description="Rename or renumber an extension, "
        "or set its provisioning level or chat access.",
        permission_classes=[IsAuthenticated],
    )
    async def update_extension(
        self,
        info: Info,
        id: strawberry.ID,
        name: str | None = None,
        number: str | None = None,
        provisioning: ProvisioningLevel | None = None,
        chat_server_access: bool | None = None,
    ) -> UpdateExtensionPayload:
        row_id = decode_id(id, "Extension")
        if row_id is None:
            return UpdateExtensionPayload(extension=None, user_errors=user_errors(_not_found("id")))
        changes = extensions.ExtensionChanges(name, number, provisioning, chat_server_access)
        row, problems = await extensions.update_extension(
            info.context.db,
            info.context.services.secrets,
            info.context.require_viewer(),
            row_id,
            changes,
        )
        return UpdateExtensionPayload(
            extension=None if row is None else ExtensionType_.from_row(row),
            user_errors=user_errors(problems),
        )

    @strawberry.mutation(
        description="Delete an extension with its SIP preferences, device and files.",
        permission_classes=[IsAuthenticated],
    )
    async def delete_extension(self, info: Info, id: strawberry.ID) -> DeleteExtensionPayload:
        row_id = decode_id(id, "Extension")
        problems = (
            _not_found("id")
            if row_id is None
            else await extensions.delete_extension(
                info.context.db, info.context.require_viewer(), row_id
            )
        )
        return DeleteExtensionPayload(
            deleted_extension_id=None if problems else id, user_errors=user_errors(problems)
        )

    @strawberry.mutation(
        description="Whether to go straight to provisioning after adding each extension.",
        permission_classes=[IsAuthenticated],
    )
    async def set_provision_new_extensions(
        self, info: Info, enabled: bool
    ) -> SetProvisionNewExtensionsPayload:
        await extensions.set_provision_new_extensions(
            info.context.db, info.context.require_viewer(), enabled
        )
        return SetProvisionNewExtensionsPayload(enabled=enabled, user_errors=[])
