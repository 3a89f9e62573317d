"""The `Account` type, its queries and its mutations."""

from __future__ import annotations

from datetime import datetime
from functools import partial

import strawberry

from magnaprov.db import Account, ProvisioningLevel, Role
from magnaprov.resolvers import Problems, accounts
from magnaprov.resolvers.errors import ErrorCode
from magnaprov.schema.context import Info
from magnaprov.schema.errors import UserError, user_errors
from magnaprov.schema.node import (
    Node,
    decode_id,
    encode_global_id,
    register_node_type,
    resolve_node,
)
from magnaprov.schema.pagination import Connection, connection_from_page
from magnaprov.schema.permissions import IsAuthenticated
from magnaprov.schema.row_objects import column, column_values
from magnaprov.tenancy import Permissions

__all__ = ["AccountMutations", "AccountQueries", "AccountType"]

# Registers the stored enums with GraphQL; annotations then use the Python enums themselves.
strawberry.enum(Role, name="Role", description="Place of an account in the tree.")
strawberry.enum(
    ProvisioningLevel,
    name="ProvisioningLevel",
    description='"Allow to provision devices": NONE hides devices, VIEW shows them, MODIFY edits.',
)


@strawberry.type(name="Permissions", description="What an account may do.")
class PermissionsType:
    provisioning: ProvisioningLevel = strawberry.field(description="Device provisioning level.")
    sip_management: bool = strawberry.field(
        description="Phone extension SIP management: full access to SIP preferences."
    )

    @classmethod
    def of(cls, permissions: Permissions) -> PermissionsType:
        """The GraphQL form of a permission pair."""
        return cls(provisioning=permissions.provisioning, sip_management=permissions.sip_management)


@strawberry.type(name="Account", description="An admin, provider, organization or user account.")
class AccountType(Node):
    id: strawberry.ID = strawberry.field(
        description="Opaque global identifier.",
        metadata=column(Account.id, partial(encode_global_id, "Account")),
    )
    role: Role = strawberry.field(
        description="Place in the tree; follows from the parent.", metadata=column(Account.role)
    )
    name: str = strawberry.field(description="Display name.", metadata=column(Account.name))
    login: str = strawberry.field(
        description="Login name, unique regardless of case.", metadata=column(Account.login)
    )
    code: str | None = strawberry.field(
        description="Organizations only: 4-digit code prefixing extension numbers, e.g. 0027.",
        metadata=column(Account.code),
    )
    email: str | None = strawberry.field(
        description="Contact e-mail address.", metadata=column(Account.email)
    )
    created_at: datetime = strawberry.field(
        description="When the account was created.", metadata=column(Account.created_at)
    )
    row: strawberry.Private[Account]

    @classmethod
    def from_row(cls, row: Account) -> AccountType:
        """The GraphQL form of an account row."""
        return cls(**column_values(cls, row), row=row)

    @strawberry.field(description="The parent account; null for the admin and above the viewer.")
    async def parent(self, info: Info) -> AccountType | None:
        if self.row.parent_id is None:
            return None
        parent = await info.context.loaders.account_by_id.load(self.row.parent_id)
        return None if parent is None else AccountType.from_row(parent)

    @strawberry.field(description="Direct child accounts.")
    async def children(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[AccountType]:
        async with info.context.db.reading() as session:
            page = await accounts.list_accounts(
                session, role=None, parent_id=self.row.id, search=None, first=first, after=after
            )
        return connection_from_page(page, AccountType.from_row, lambda row: row.id)

    @strawberry.field(description="The permissions set on this account by its parent.")
    def permissions(self) -> PermissionsType:
        return PermissionsType.of(Permissions(self.row.provisioning, self.row.sip_management))

    @strawberry.field(
        description="Own permissions capped by every ancestor's: what the account may really do."
    )
    async def effective_permissions(self, info: Info) -> PermissionsType:
        return PermissionsType.of(
            await info.context.loaders.effective_permissions.load(self.row.tree_path)
        )

    @strawberry.field(
        description="Preference: go straight to provisioning after adding each extension."
    )
    def provision_new_extensions(self) -> bool:
        return self.row.provision_new_extensions

    @strawberry.field(
        description="Whether the viewer may change this account's permissions or delete it."
    )
    def viewer_can_manage(self, info: Info) -> bool:
        viewer = info.context.viewer
        return viewer is not None and viewer.manages(self.row.tree_path)


async def _fetch_account(info: Info, account_id: int) -> AccountType | None:
    if info.context.viewer is None:
        return None
    account = await info.context.loaders.account_by_id.load(account_id)
    return None if account is None else AccountType.from_row(account)


register_node_type("Account", _fetch_account)


@strawberry.type(description="Result of createAccount.")
class CreateAccountPayload:
    account: AccountType | None = strawberry.field(description="The new account, if created.")
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of updateAccount.")
class UpdateAccountPayload:
    account: AccountType | None = strawberry.field(description="The account as saved.")
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of setAccountPermissions.")
class SetAccountPermissionsPayload:
    account: AccountType | None = strawberry.field(description="The account as saved.")
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of deleteAccount.")
class DeleteAccountPayload:
    deleted_account_id: strawberry.ID | None = strawberry.field(
        description="ID of the deleted account."
    )
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


def _not_found(field_name: str) -> Problems:
    problems = Problems()
    problems.add(field_name, ErrorCode.NOT_FOUND, "No such account.")
    return problems


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The authenticated account, or null without a valid token.")
    async def viewer(self, info: Info) -> AccountType | None:
        viewer = info.context.viewer
        return None if viewer is None else await _fetch_account(info, viewer.account_id)

    @strawberry.field(description="Any object by global ID, if the viewer may see it.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(
        description="One account of the viewer's subtree.", permission_classes=[IsAuthenticated]
    )
    async def account(self, info: Info, id: strawberry.ID) -> AccountType | None:
        account_id = decode_id(id, "Account")
        return None if account_id is None else await _fetch_account(info, account_id)

    @strawberry.field(
        description="Accounts of the viewer's subtree (the viewer included), oldest first.",
        permission_classes=[IsAuthenticated],
    )
    async def accounts(
        self,
        info: Info,
        role: Role | None = None,
        parent_id: strawberry.ID | None = None,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AccountType]:
        parent = None if parent_id is None else decode_id(parent_id, "Account") or -1
        async with info.context.db.reading() as session:
            page = await accounts.list_accounts(
                session,
                role=role,
                parent_id=parent,
                search=search or None,
                first=first,
                after=after,
            )
        return connection_from_page(page, AccountType.from_row, lambda row: row.id)


@strawberry.type
class AccountMutations:
    @strawberry.mutation(
        description="Create a child account; its role follows from the parent's.",
        permission_classes=[IsAuthenticated],
    )
    async def create_account(
        self,
        info: Info,
        parent_id: strawberry.ID,
        name: str,
        login: str,
        password: str,
        email: str | None = None,
        provisioning: ProvisioningLevel = ProvisioningLevel.NONE,
        sip_management: bool = False,
    ) -> CreateAccountPayload:
        parent = decode_id(parent_id, "Account")
        if parent is None:
            return CreateAccountPayload(
                account=None, user_errors=user_errors(_not_found("parentId"))
            )
        ctx = info.context
        new = accounts.NewAccount(
            parent, name, login, password, email, provisioning, sip_management
        )
        row, problems = await accounts.create_account(
            ctx.db, ctx.services, ctx.require_viewer(), new
        )
        return CreateAccountPayload(
            account=None if row is None else AccountType.from_row(row),
            user_errors=user_errors(problems),
        )

    @strawberry.mutation(
        description="Change name, login, password or e-mail of yourself or an account below you. "
        "Changing your own password needs `currentPassword`.",
        permission_classes=[IsAuthenticated],
    )
    async def update_account(
        self,
        info: Info,
        id: strawberry.ID,
        name: str | None = None,
        login: str | None = None,
        password: str | None = None,
        current_password: str | None = None,
        email: str | None = None,
    ) -> UpdateAccountPayload:
        account_id = decode_id(id, "Account")
        if account_id is None:
            return UpdateAccountPayload(account=None, user_errors=user_errors(_not_found("id")))
        ctx = info.context
        changes = accounts.AccountChanges(name, login, password, current_password, email)
        row, problems = await accounts.update_account(
            ctx.db, ctx.services, ctx.require_viewer(), account_id, changes
        )
        return UpdateAccountPayload(
            account=None if row is None else AccountType.from_row(row),
            user_errors=user_errors(problems),
        )

    @strawberry.mutation(
        description="Set the permissions of an account below you, at most your own effective ones.",
        permission_classes=[IsAuthenticated],
    )
    async def set_account_permissions(
        self,
        info: Info,
        id: strawberry.ID,
        provisioning: ProvisioningLevel | None = None,
        sip_management: bool | None = None,
    ) -> SetAccountPermissionsPayload:
        account_id = decode_id(id, "Account")
        if account_id is None:
            return SetAccountPermissionsPayload(
                account=None, user_errors=user_errors(_not_found("id"))
            )
        ctx = info.context
        row, problems = await accounts.set_account_permissions(
            ctx.db, ctx.require_viewer(), account_id, provisioning, sip_management
        )
        return SetAccountPermissionsPayload(
            account=None if row is None else AccountType.from_row(row),
            user_errors=user_errors(problems),
        )

    @strawberry.mutation(
        description="Delete an account below you; refused while it has child accounts.",
        permission_classes=[IsAuthenticated],
    )
    async def delete_account(self, info: Info, id: strawberry.ID) -> DeleteAccountPayload:
        account_id = decode_id(id, "Account")
        problems = (
            _not_found("id")
            if account_id is None
            else await accounts.delete_account(
                info.context.db, info.context.require_viewer(), account_id
            )
        )
        return DeleteAccountPayload(
            deleted_account_id=None if problems else id, user_errors=user_errors(problems)
        )
