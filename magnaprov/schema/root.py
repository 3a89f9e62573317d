"""The root schema and its hardening, built once at start-up."""

from __future__ import annotations

import logging
from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from magnaprov.resolvers import ExpectedError
from magnaprov.schema.accounts import AccountMutations, AccountQueries
from magnaprov.schema.auth import AuthMutations, AuthQueries
from magnaprov.schema.catalog import CatalogQueries
from magnaprov.schema.devices import DeviceMutations, DeviceQueries
from magnaprov.schema.extensions import ExtensionMutations, ExtensionQueries
from magnaprov.schema.global_preferences import GlobalPreferencesMutations, GlobalPreferencesQueries
from magnaprov.schema.list_execution import ListExecutionContext
from magnaprov.schema.nul_guard import RejectNulCharacters
from magnaprov.schema.query_cost import QueryCostLimit
from magnaprov.schema.sip_preferences import SipPreferencesMutations
from magnaprov.schema.templates import TemplateMutations, TemplateQueries
from magnaprov.settings import Settings

__all__ = ["Mutation", "Query", "build_schema"]

log = logging.getLogger("magnaprov.graphql")


@strawberry.type(description="Everything that can be read.")
class Query(
    AccountQueries,
    ExtensionQueries,
    DeviceQueries,
    TemplateQueries,
    CatalogQueries,
    GlobalPreferencesQueries,
    AuthQueries,
):
    pass


@strawberry.type(description="Everything that can be changed.")
class Mutation(
    AuthMutations,
    AccountMutations,
    ExtensionMutations,
    SipPreferencesMutations,
    DeviceMutations,
    TemplateMutations,
    GlobalPreferencesMutations,
):
    pass


def should_mask(error: GraphQLError) -> bool:
    """Mask unexpected failures; keep query-shape errors and our own expected refusals."""
    original = error.original_error
    if original is None or isinstance(original, (ExpectedError, GraphQLError)):
        return False
    log.error("unexpected error at %s", error.path, exc_info=original)
    return True


class Schema(strawberry.Schema):
    """Strawberry's schema, quiet about expected refusals.

    Strawberry logs every error with a traceback by default; refusals such as a missing token
    are answers, not incidents, and unexpected errors are already logged by `should_mask`.
    """

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema with limits on depth, tokens, aliases and cost, and errors masked."""
    # The depth and alias limits are validation rules, made into classes once, here:
    # ValidationCache keys its entries by the rule classes too, and a limiter built per request
    # makes new ones, so every request validated its document again (2 ms for a short query).
    limits = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    ]
    # Factories, not instances: each request gets fresh extensions (the parse and validation
    # caches are shared module-level LRUs, so caching still spans requests).
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: AddValidationRules(limits),
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        # After the validation cache: it weighs only documents found valid, with the variables.
        lambda: QueryCostLimit(settings.graphql_max_cost),
        RejectNulCharacters,
        lambda: MaskErrors(should_mask_error=should_mask),
    ]
    if not settings.graphql_introspection:
        extensions.append(DisableIntrospection)
    return Schema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=not settings.debug),
        execution_context_class=ListExecutionContext,
    )
