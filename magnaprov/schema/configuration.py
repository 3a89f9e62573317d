"""Warnings about the configuration, as the API shows them."""

from __future__ import annotations

import strawberry

from magnaprov.resolvers.configuration_check import Finding

__all__ = ["ConfigurationWarning"]


@strawberry.type(description="A problem of the configuration, and what to do about it.")
class ConfigurationWarning:
    code: str = strawberry.field(
        description="Stable code, e.g. REGISTRAR_PLACEHOLDER, BASE_URL_UNREACHABLE."
    )
    message: str = strawberry.field(description="What is wrong.")
    advice: str = strawberry.field(description="What to do about it.")

    @classmethod
    def of(cls, finding: Finding) -> ConfigurationWarning:
        """The GraphQL form of a finding."""
        return cls(code=finding.code, message=finding.message, advice=finding.advice)
