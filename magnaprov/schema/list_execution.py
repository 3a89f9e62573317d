"""Completing lists of plain objects without graphql-core's per-field machinery.

graphql-core resolves every field of every list item through one general path (a ResolveInfo, a
Path, awaitable checks, Strawberry's resolver wrapper), a few microseconds per field: a page of
1,000 devices with extensions and owners spent more time there than in the database. Most fields
of such a page are plain: an attribute of the object, a related object a list resolver preloaded
(`schema/preloading.py`) or a synchronous method of the object alone. For a list whose selection
is plain throughout, `ListExecutionContext` generates, once per request and selection, one
function per item type that reads and coerces every selected field directly, related objects
inline (`schema/generated_code.py`), and completes the list with it.

Anything else (arguments, resolvers that take `info` or are async, abstract types, @defer or
@stream, middleware) leaves the list to graphql-core, and so does any surprise while completing
it: a null for a non-null field, a value a scalar refuses, an object of another type, an
exception. graphql-core then completes the whole list again from the start, so answers and errors
are always exactly graphql-core's. Nothing it re-reads has side effects: attributes, preloaded
values and methods of the object alone.

No maintained Python library compiles GraphQL selections (graphql-jit is JavaScript only), hence
this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import CoroutineType
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLID,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLString,
    Undefined,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
from strawberry.types.field import StrawberryField

from magnaprov.schema.generated_code import define
from magnaprov.schema.preloading import NOT_LOADED, PRELOADED_FROM

__all__ = ["ListExecutionContext"]

Completer = Callable[[Any], Any]
Getter = Callable[[Any], Any]
_DEFINITION = GraphQLCoreConverter.DEFINITION_BACKREF


class _GiveUp(Exception):
    """Raised while completing a list the plain way: graphql-core must complete it instead."""


class ListExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, completing plain lists with per-selection functions."""

    _list_plans: dict[tuple[GraphQLObjectType, int], tuple[FieldDetailsList, Completer | None]]

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        if type(result) is list and not self.middleware_manager_active():
            complete_item = self._item_completer(return_type.of_type, field_details_list, path)
            if complete_item is not None:
                try:
                    return [complete_item(item) for item in result]
                except Exception:  # noqa: S110 (graphql-core redoes it and reports the error)
                    pass
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def middleware_manager_active(self) -> bool:
        """Whether resolve-time middleware (extensions with a `resolve` hook) is installed."""
        manager = self.middleware_manager
        return manager is not None and bool(manager.middlewares)

    def _item_completer(
        self, item_type: GraphQLOutputType, field_details_list: FieldDetailsList, path: Path
    ) -> Completer | None:
        """The plain completer of the list's items, or None when the list is not plain."""
        object_type = _unwrapped(item_type)
        if not isinstance(object_type, GraphQLObjectType):
            return None
        if self.get_stream_usage(field_details_list, path) is not None:
            return None
        plans = self.__dict__.setdefault("_list_plans", {})
        key = (object_type, id(field_details_list))
        if key not in plans:  # the list is kept with its plan so that its id stays unique
            plans[key] = (field_details_list, self._completer(item_type, field_details_list))
        completer: Completer | None = plans[key][1]
        return completer

    def _completer(
        self,
        graphql_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        non_null: bool = False,
    ) -> Completer | None:
        if isinstance(graphql_type, GraphQLNonNull):
            return self._completer(graphql_type.of_type, field_details_list, non_null=True)
        if isinstance(graphql_type, GraphQLList):
            inner = self._completer(graphql_type.of_type, field_details_list)
            return None if inner is None else _list_of(inner, non_null)
        if isinstance(graphql_type, GraphQLLeafType):
            return _leaf(graphql_type, non_null)
        if isinstance(graphql_type, GraphQLObjectType):
            return self._object_completer(graphql_type, field_details_list, non_null)
        return None  # interfaces and unions need their runtime type resolved

    def _object_completer(
        self,
        object_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        non_null: bool,
    ) -> Completer | None:
        definition = object_type.extensions.get(_DEFINITION)
        if not isinstance(definition, StrawberryObjectDefinition):
            return None
        grouped, new_defer_usages, _forbidden = self.collect_subfields(
            object_type, field_details_list
        )
        if new_defer_usages:
            return None
        fields: list[_PlannedField] = []
        for response_key, sub_details in grouped.items():
            if any(details.defer_usage is not None for details in sub_details):
                return None
            planned = self._field_plan(object_type, response_key, sub_details)
            if planned is None:
                return None
            fields.append(planned)
        return _object(_accepted_classes(object_type, definition), fields, non_null)

    def _field_plan(
        self, object_type: GraphQLObjectType, key: str, field_details_list: FieldDetailsList
    ) -> _PlannedField | None:
        node = field_details_list[0].node
        if node.name.value == "__typename":
            type_name = object_type.name
            return _PlannedField(key, _Read(getter=lambda _source: type_name), _identity, None)
        field_def = self.schema.get_field(object_type, node.name.value)
        if field_def is None or field_def.args or node.arguments:
            return None
        field = field_def.extensions.get(_DEFINITION)
        if not isinstance(field, StrawberryField):
            return None
        read = _plain_read(field)
        if read is None:
            return None
        completer = self._completer(field_def.type, field_details_list)
        if completer is None:
            return None
        leaf_type = _unwrapped(field_def.type)
        unchanged = _PASS_THROUGH.get(leaf_type) if isinstance(leaf_type, GraphQLLeafType) else None
        return _PlannedField(key, read, completer, unchanged)


@dataclass(frozen=True, slots=True)
class _Read:
    """How a field's value is read: exactly one of these is set."""

    attribute: str | None = None  # an attribute holding the value
    preloaded: str | None = None  # the attribute a list preloaded it in (`preloaded_from`)
    getter: Getter | None = None  # a function of the object


@dataclass(frozen=True, slots=True)
class _PlannedField:
    """How to read and complete one field of an object."""

    key: str  # the response key: the field's name or alias
    read: _Read
    completer: Completer
    unchanged: type | None  # values of this type need no completion (see `_PASS_THROUGH`)


def _plain_read(field: StrawberryField) -> _Read | None:
    """How to read the field's value without its resolver wrapper, when that is safe."""
    if field.is_basic_field:
        if field.default_resolver is getattr and field.python_name.isidentifier():
            return _Read(attribute=field.python_name)
        default_resolver, name = field.default_resolver, field.python_name
        return _Read(getter=lambda source: default_resolver(source, name))
    if field.extensions or field.base_resolver is None:
        return None  # permission classes and other field extensions run per call
    preloaded = field.metadata.get(PRELOADED_FROM)
    if isinstance(preloaded, str):
        return _Read(preloaded=preloaded) if preloaded.isidentifier() else None
    resolver = field.base_resolver
    function = resolver.wrapped_func
    if resolver.is_async or list(resolver.signature.parameters) != ["self"]:
        return None
    if not callable(function) or isinstance(function, (staticmethod, classmethod)):
        return None
    return _Read(getter=_method(function))


def _method(function: Callable[[Any], Any]) -> Getter:
    def get(source: Any) -> Any:
        value = function(source)
        if type(value) is CoroutineType:
            value.close()
            raise _GiveUp
        return value

    return get


def _unwrapped(graphql_type: GraphQLOutputType) -> GraphQLOutputType:
    while isinstance(graphql_type, GraphQLNonNull):
        graphql_type = graphql_type.of_type
    return graphql_type


def _identity(value: Any) -> Any:
    return value


def _list_of(inner: Completer, non_null: bool) -> Completer:
    def complete(value: Any) -> list[Any] | None:
        if type(value) is list:
            return [inner(item) for item in value]
        if value is None and not non_null:
            return None
        raise _GiveUp

    return complete


# Values these scalars return unchanged (graphql-core's coercion checks the same types first);
# anything else goes through the scalar's own coercion.
_PASS_THROUGH: dict[GraphQLLeafType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
}


def _leaf(leaf_type: GraphQLLeafType, non_null: bool) -> Completer:
    coerce = leaf_type.coerce_output_value
    unchanged = _PASS_THROUGH.get(leaf_type)

    def complete(value: Any) -> Any:
        if type(value) is unchanged:
            return value
        if value is None:
            if non_null:
                raise _GiveUp
            return None
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _GiveUp
        return coerced

    return complete


def _accepted_classes(
    object_type: GraphQLObjectType, definition: StrawberryObjectDefinition
) -> tuple[type, ...] | None:
    """The classes taken without graphql-core's type check; None when it checks nothing."""
    if object_type.is_type_of is None:
        return None
    if definition.concrete_of is not None:  # `Edge[DeviceType]` objects are plain `Edge`s
        return (definition.origin, definition.concrete_of.origin)
    return (definition.origin,)


@dataclass(frozen=True, slots=True)
class _ObjectShape:
    """What completing an object takes: the classes accepted as is, its fields, nullability."""

    accepted: tuple[type, ...] | None
    fields: tuple[_PlannedField, ...]
    non_null: bool


def _object(
    accepted: tuple[type, ...] | None,
    fields: Iterable[_PlannedField],
    non_null: bool,
) -> Completer:
    """The completer of an object: one generated function reading the fields in order.

    Generated (`schema/generated_code.py`): a page of 1,000 devices reads some 10,000 fields.
    Related objects (a device's extension, its owner) are completed inline, in the same
    function; the shape stays on the completer (`shape`) for the object that inlines it.
    """
    shape = _ObjectShape(accepted, tuple(fields), non_null)
    namespace: dict[str, Any] = {"GiveUp": _GiveUp, "CAST": TYPE_CAST_ATTRIBUTE}
    namespace["NOT_LOADED"] = NOT_LOADED
    lines = ["def complete(value):", *_object_lines(shape, "value", namespace, "    ")]
    lines.append("    return value")
    complete = define("\n".join(lines), "complete", namespace)
    complete.shape = shape  # type: ignore[attr-defined]
    return complete


def _object_lines(
    shape: _ObjectShape, name: str, namespace: dict[str, Any], indent: str
) -> list[str]:
    """Lines replacing the object in variable `name` by its completed dictionary (or None)."""
    namespace[f"{name}_accepted"] = shape.accepted
    lines = [f"if {name} is None:", "    raise GiveUp" if shape.non_null else "    pass", "else:"]
    body: list[str] = []
    if shape.accepted is not None:
        # Strawberry's is_type_of accepts these classes (and more, left to graphql-core); an
        # object cast with `strawberry.cast` is judged by its cast, also by graphql-core.
        body.append(
            f"if type({name}) not in {name}_accepted or getattr({name}, CAST, None) is not None:"
        )
        body.append("    raise GiveUp")
    keys = []
    for index, planned in enumerate(shape.fields):
        value = f"{name}_{index}"
        body += _field_lines(planned, name, value, namespace)
        keys.append(f"{planned.key!r}: {value}")
    body.append(f"{name} = {{{', '.join(keys)}}}")
    lines += [f"    {line}" for line in body]
    return [f"{indent}{line}" for line in lines]


def _field_lines(
    planned: _PlannedField, source: str, value: str, namespace: dict[str, Any]
) -> list[str]:
    """Lines setting variable `value` to the completed field of the object in `source`."""
    lines: list[str] = []
    read = planned.read
    if read.preloaded is not None:
        lines.append(f"{value} = {source}.{read.preloaded}")
        lines.append(f"if {value} is NOT_LOADED:")
        lines.append("    raise GiveUp")
    elif read.attribute is not None:
        lines.append(f"{value} = {source}.{read.attribute}")
    else:
        namespace[f"{value}_get"] = read.getter
        lines.append(f"{value} = {value}_get({source})")
    shape = getattr(planned.completer, "shape", None)
    if isinstance(shape, _ObjectShape):
        return lines + _object_lines(shape, value, namespace, "")
    namespace[f"{value}_complete"] = planned.completer
    if planned.unchanged is not None:
        namespace[f"{value}_unchanged"] = planned.unchanged
        lines.append(f"if type({value}) is not {value}_unchanged:")
        lines.append(f"    {value} = {value}_complete({value})")
    else:
        lines.append(f"{value} = {value}_complete({value})")
    return lines
