"""A bound on what one document may cost, estimated before anything runs.

The estimate counts every field the answer would hold: each field costs 1, times the page
sizes of the connections around it (`first` or `last`, a variable's value or default, else the
default page size; at most the largest page, since a larger one is refused anyway). Aliased
fields count once per alias and fragments are expanded where they are spread. Lists that are
not connections (a device's files, the catalog) are bounded by the data and count once.

Written here rather than taken from a library: Strawberry ships depth, token and alias limits
but no cost limit, graphql-core has no such rule, and the one Python package that estimates
complexity (graphql-complexity) prices each field by a constant, a schema directive or that
field's own argument; it does not multiply a connection's page size into the fields below it,
which is exactly the cost of `accounts(first: 1000) { nodes { children(first: 1000) ... } }`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from graphql import (
    BREAK,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    ValueNode,
    VariableNode,
    get_named_type,
    is_interface_type,
    is_object_type,
    validate,
    value_from_ast_untyped,
)
from graphql.language import DocumentNode
from strawberry.extensions import SchemaExtension

from magnaprov.resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

__all__ = ["QUERY_TOO_COSTLY", "QueryCostLimit", "QueryCostRule", "estimate_cost"]

QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
_PAGE_ARGUMENTS = ("first", "last")


def estimate_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> int:
    """The estimated cost of the operation of `document` that would run (the costliest if
    the name does not pick one)."""
    estimator = _Estimator(schema, document, variables or {})
    costs = [
        estimator.operation(operation)
        for operation in _operations(document)
        if operation_name is None or (operation.name and operation.name.value == operation_name)
    ]
    return max(costs, default=0)


class QueryCostRule(ValidationRule):
    """Reports the document when its estimated cost exceeds `budget`.

    Variables are not part of a document, so the rule is bound to one request's variables by
    `bound`; `QueryCostLimit` runs it.
    """

    budget: ClassVar[int] = 0
    variables: ClassVar[Mapping[str, Any]] = {}
    operation_name: ClassVar[str | None] = None

    @classmethod
    def bound(
        cls, budget: int, variables: Mapping[str, Any] | None, operation_name: str | None
    ) -> type[QueryCostRule]:
        """This rule with the budget and one request's variables."""
        values = {"budget": budget, "variables": dict(variables or {})}
        return type(cls.__name__, (cls,), {**values, "operation_name": operation_name})

    def enter_document(self, node: DocumentNode, *_args: object) -> object:
        context: ValidationContext = self.context
        cost = estimate_cost(context.schema, node, self.variables, self.operation_name)
        if cost > self.budget:
            self.report_error(
                GraphQLError(
                    f"This query's estimated cost is {cost}, over the budget of "
                    f"{self.budget} (MAGNAPROV_GRAPHQL_MAX_COST): ask for smaller pages "
                    "(first) or fewer nested lists.",
                    extensions={"code": QUERY_TOO_COSTLY, "cost": cost, "budget": self.budget},
                )
            )
        return BREAK  # the estimate walked the document already


class QueryCostLimit(SchemaExtension):
    """Refuses, before execution, an operation whose estimated cost exceeds `budget`.

    Runs after the (cached) validation of the document: a valid document with this request's
    variables gets one more, cheap walk; an invalid one is already refused.
    """

    def __init__(self, budget: int) -> None:
        super().__init__()
        self._budget = budget

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and not context.pre_execution_errors:
            rule = QueryCostRule.bound(self._budget, context.variables, context.operation_name)
            errors = validate(context.schema._schema, document, [rule])
            if errors:
                context.pre_execution_errors = [*(context.pre_execution_errors or []), *errors]
        yield


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


class _Estimator:
    """Walks selections with their types, multiplying page sizes along the nesting."""

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any]
    ) -> None:
        self._schema = schema
        self._variables = dict(variables)
        self._defaults: dict[str, Any] = {}
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def operation(self, operation: OperationDefinitionNode) -> int:
        self._defaults = {
            v.variable.name.value: value_from_ast_untyped(v.default_value)
            for v in operation.variable_definitions or ()
            if v.default_value is not None
        }
        root = self._schema.get_root_type(operation.operation)
        return self._selections(operation.selection_set, root, frozenset())

    def _selections(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        spreading: frozenset[str],
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent, spreading)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self._schema.get_type(condition.name.value) if condition else parent
                total += self._selections(selection.selection_set, inner, spreading)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._spread(selection, spreading)
        return total

    def _spread(self, spread: FragmentSpreadNode, spreading: frozenset[str]) -> int:
        name = spread.name.value
        fragment = self._fragments.get(name)
        if fragment is None or name in spreading:  # unknown or cyclic: validation refuses it
            return 0
        condition = self._schema.get_type(fragment.type_condition.name.value)
        return self._selections(fragment.selection_set, condition, spreading | {name})

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType | None, spreading: frozenset[str]
    ) -> int:
        definition = None
        if is_object_type(parent) or is_interface_type(parent):
            definition = parent.fields.get(node.name.value)
        if definition is None:  # __typename, introspection, or unknown (refused elsewhere)
            return 1 + self._selections(node.selection_set, None, spreading)
        size = self._page_size(node, definition.args)
        child = get_named_type(definition.type)
        return 1 + size * self._selections(node.selection_set, child, spreading)

    def _page_size(self, node: FieldNode, arguments: Mapping[str, Any]) -> int:
        """The page a connection field asks for; 1 for any other field."""
        if not any(name in arguments for name in _PAGE_ARGUMENTS):
            return 1
        given = [a.value for a in node.arguments or () if a.name.value in _PAGE_ARGUMENTS]
        sizes = [self._int_value(value) for value in given]
        known = [size for size in sizes if size is not None]
        size = max(known) if known else DEFAULT_PAGE_SIZE
        return max(0, min(size, MAX_PAGE_SIZE))

    def _int_value(self, value: ValueNode) -> int | None:
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            name = value.name.value
            given = self._variables.get(name, self._defaults.get(name))
            return given if isinstance(given, int) and not isinstance(given, bool) else None
        return None
