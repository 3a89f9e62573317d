"""Login, logout and API tokens."""

from __future__ import annotations

from datetime import datetime

import strawberry

from magnaprov.db import AccessToken
from magnaprov.resolvers import Problems, auth
from magnaprov.resolvers.errors import ErrorCode
from magnaprov.schema.context import Info
from magnaprov.schema.errors import UserError, user_errors
from magnaprov.schema.node import decode_id, encode_global_id
from magnaprov.schema.permissions import IsAuthenticated

__all__ = ["AuthMutations", "AuthQueries"]


@strawberry.type(
    description="A named, long-lived token for scripts; its value is never shown again."
)
class ApiToken:
    id: strawberry.ID = strawberry.field(description="Global ID, for revokeApiToken.")
    name: str = strawberry.field(description="What the token is for.")
    created_at: datetime = strawberry.field(description="When it was created.")
    expires_at: datetime | None = strawberry.field(
        description="When it stops working; null: never."
    )

    @classmethod
    def from_row(cls, row: AccessToken) -> ApiToken:
        """The GraphQL form of a token row."""
        return cls(
            id=encode_global_id("ApiToken", row.id),
            name=row.name or "",
            created_at=row.created_at,
            expires_at=row.expires_at,
        )


@strawberry.type(description="Result of login.")
class LoginPayload:
    token: str | None = strawberry.field(description="Send as 'Authorization: Bearer <token>'.")
    expires_at: datetime | None = strawberry.field(description="When the session ends.")
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of logout.")
class LogoutPayload:
    user_errors: list[UserError] = strawberry.field(description="Always empty.")


@strawberry.type(description="Result of createApiToken.")
class CreateApiTokenPayload:
    token: str | None = strawberry.field(description="The token itself: shown this once only.")
    api_token: ApiToken | None = strawberry.field(description="The token's record.")
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type(description="Result of revokeApiToken.")
class RevokeApiTokenPayload:
    revoked_token_id: strawberry.ID | None = strawberry.field(
        description="ID of the revoked token."
    )
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type
class AuthQueries:
    @strawberry.field(
        description="The viewer's API tokens, newest first.", permission_classes=[IsAuthenticated]
    )
    async def api_tokens(self, info: Info) -> list[ApiToken]:
        async with info.context.db.reading() as session:
            rows = await auth.list_api_tokens(session, info.context.require_viewer())
        return [ApiToken.from_row(row) for row in rows]


@strawberry.type
class AuthMutations:
    @strawberry.mutation(
        description="Exchange a login and password for a session token. Too many attempts for "
        "one login or from one address within a few minutes are refused (code THROTTLED), "
        "right password or not, until the window passes."
    )
    async def login(self, info: Info, login: str, password: str) -> LoginPayload:
        ctx = info.context
        issued, problems = await auth.login(
            ctx.db, ctx.services, login, password, ctx.client_address
        )
        return LoginPayload(
            token=None if issued is None else issued.token,
            expires_at=None if issued is None else issued.row.expires_at,
            user_errors=user_errors(problems),
        )

    @strawberry.mutation(
        description="End the session the request came with.", permission_classes=[IsAuthenticated]
    )
    async def logout(self, info: Info) -> LogoutPayload:
        async with info.context.db.writing() as session:
            await auth.logout(session, info.context.require_viewer())
        return LogoutPayload(user_errors=[])

    @strawberry.mutation(
        description="Create a named API token; omit expiresInDays for one that never expires.",
        permission_classes=[IsAuthenticated],
    )
    async def create_api_token(
        self, info: Info, name: str, expires_in_days: int | None = None
    ) -> CreateApiTokenPayload:
        async with info.context.db.writing() as session:
            issued, problems = await auth.create_api_token(
                session, info.context.require_viewer(), name, expires_in_days
            )
        return CreateApiTokenPayload(
            token=None if issued is None else issued.token,
            api_token=None if issued is None else ApiToken.from_row(issued.row),
            user_errors=user_errors(problems),
        )

    @strawberry.mutation(
        description="Revoke one of your API tokens at once.", permission_classes=[IsAuthenticated]
    )
    async def revoke_api_token(self, info: Info, id: strawberry.ID) -> RevokeApiTokenPayload:
        token_id = decode_id(id, "ApiToken")
        if token_id is None:
            problems = Problems()
            problems.add("id", ErrorCode.NOT_FOUND, "No such API token.")
        else:
            async with info.context.db.writing() as session:
                problems = await auth.revoke_api_token(
                    session, info.context.require_viewer(), token_id
                )
        return RevokeApiTokenPayload(
            revoked_token_id=None if problems else id, user_errors=user_errors(problems)
        )
