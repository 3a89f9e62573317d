"""`UserError`: an input problem reported in a mutation payload."""

from __future__ import annotations

import strawberry

from magnaprov.resolvers import ErrorCode, Problems
from magnaprov.resolvers import UserError as UserErrorData

__all__ = ["UserError", "user_errors"]

UserErrorCode = strawberry.enum(
    ErrorCode, name="UserErrorCode", description="Why an input was refused."
)


@strawberry.type(description="A problem with the input of a mutation; nothing was saved.")
class UserError:
    field: str | None = strawberry.field(
        description="The input field at fault (camelCase), or null for the call as a whole."
    )
    code: ErrorCode = strawberry.field(description="Stable, machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")

    @classmethod
    def from_data(cls, error: UserErrorData) -> UserError:
        """The GraphQL form of a resolver's error."""
        return cls(field=error.field, code=error.code, message=error.message)


def user_errors(problems: Problems) -> list[UserError]:
    """The GraphQL form of every problem of a call."""
    return [UserError.from_data(error) for error in problems.errors]
