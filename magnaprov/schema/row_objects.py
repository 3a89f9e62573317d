"""Objects of a list built from only the columns its GraphQL selection reads.

Loading a page of 1,000 devices with their extensions and owners as ORM objects costs more
(every column, the identity map, instance state: ~20 ms) than the database takes to send the
few columns a list view shows. Fields that copy a column declare it with
`metadata=column(Device.friendly_name)`, with a conversion when the value is not the column's
own. A list resolver asks `plan_objects` for a plan: when every field the selection reads is such
a field, or one the resolver can fill from a joined column or table (`Joined`), the plan names
the columns to select and builds, from each row, an object holding exactly the selected fields.
Its other attributes are absent, and nothing reads them: graphql-core and
`schema/list_execution.py` only read the selected fields. Any other field in the selection (a
secret, a computed status, a field with arguments) makes `plan_objects` return None, and the
resolver loads full ORM rows as before.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLOutputType
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from magnaprov.schema.generated_code import define

__all__ = [
    "COLUMN",
    "ColumnSource",
    "Joined",
    "ObjectPlan",
    "column",
    "column_values",
    "flattened_fields",
    "plan_objects",
    "selected_fields",
]

COLUMN = "magnaprov.column"
SqlColumn = Any  # a mapped attribute such as `Device.mac`, or a column of a table
Convert = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class ColumnSource:
    """Where a field's value comes from: a column, and how its value becomes the field's."""

    column: SqlColumn
    convert: Convert | None = None


def column(source: Any, convert: Convert | None = None) -> dict[str, ColumnSource]:
    """Field metadata: the field holds `convert(source)`, `source` being a mapped column."""
    return {COLUMN: ColumnSource(source, convert)}


def column_values(cls: type, orm_object: Any) -> dict[str, Any]:
    """The values of the column fields of `cls` read from a whole ORM object."""
    return {
        name: value if convert is None else convert(value)
        for name, key, convert in _column_fields(cls)
        for value in (getattr(orm_object, key),)
    }


@cache
def _column_fields(cls: type) -> tuple[tuple[str, str, Convert | None], ...]:
    definition: StrawberryObjectDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    return tuple(
        (strawberry_field.python_name, source.column.key, source.convert)
        for strawberry_field in definition.fields
        for source in (strawberry_field.metadata.get(COLUMN),)
        if isinstance(source, ColumnSource)
    )


@dataclass(frozen=True, slots=True)
class Joined:
    """A field the resolver fills from its own joins, stored in the object's `attribute`.

    Either a value (`source`, e.g. the template's name) or a related object (`fields` of the
    related type with their own `Joined` entries, `key` being null when there is no related row).
    """

    attribute: str
    source: ColumnSource | None = None
    key: SqlColumn | None = None
    fields: Mapping[str, Joined] = field(default_factory=dict)


@dataclass
class ObjectPlan:
    """Which columns to select, and how to build an object of `cls` from a row of them."""

    cls: type
    values: list[tuple[str, int, Convert | None]] = field(default_factory=list)
    related: list[tuple[str, int | None, ObjectPlan]] = field(default_factory=list)
    columns: list[SqlColumn] = field(default_factory=list)

    def build(self, row: Sequence[Any]) -> Any:
        """The object of `row`, holding exactly the selected fields."""
        return self._builder(row)

    @cached_property
    def _builder(self) -> Callable[[Sequence[Any]], Any]:
        # Generated (`schema/generated_code.py`): a page builds thousands of these objects.
        namespace: dict[str, Any] = {"new": object.__new__}
        lines = ["def build(row):", *self._statements("o", namespace, "    "), "    return o"]
        return define("\n".join(lines), "build", namespace)

    def _statements(self, target: str, namespace: dict[str, Any], indent: str) -> list[str]:
        """Lines that build this plan's object into the variable `target`."""
        namespace[f"{target}_class"] = self.cls
        lines = [f"{target} = new({target}_class)"]
        for number, (name, index, convert) in enumerate(self.values):
            value = f"row[{index}]"
            if convert is not None:
                namespace[f"{target}_convert_{number}"] = convert
                value = f"{target}_convert_{number}({value})"
            lines.append(f"{self._attribute(target, name)} = {value}")
        for number, (name, key_index, plan) in enumerate(self.related):
            related = f"{target}_{number}"
            built = [
                *plan._statements(related, namespace, ""),
                f"{self._attribute(target, name)} = {related}",
            ]
            if key_index is None:
                lines += built
            else:  # no related row: None
                lines.append(f"if row[{key_index}] is None:")
                lines.append(f"    {self._attribute(target, name)} = None")
                lines.append("else:")
                lines += [f"    {line}" for line in built]
        return [f"{indent}{line}" for line in lines]

    def _attribute(self, target: str, name: str) -> str:
        """The expression to assign the attribute `name` of the object in `target`.

        A plain attribute store where the class allows one: it keeps the values inside the
        object, where writing through `__dict__` would create a dictionary per object (3,000
        more objects for the collector on a page of devices).
        """
        plain_class = getattr(self.cls, "__setattr__", None) is object.__setattr__
        if plain_class and name.isidentifier() and not keyword.iskeyword(name):
            return f"{target}.{name}"
        return f"{target}.__dict__[{name!r}]"


def selected_fields(selections: Iterable[Selection], name: str) -> list[SelectedField]:
    """Every occurrence of the field `name` among `selections`, through fragments."""
    found: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, (FragmentSpread, InlineFragment)):
            found += selected_fields(selection.selections, name)
        elif selection.name == name:
            found.append(selection)
    return found


def plan_objects(
    object_type: GraphQLObjectType,
    selections: Sequence[Selection],
    joined: Mapping[str, Joined],
    columns: list[SqlColumn] | None = None,
) -> ObjectPlan | None:
    """The plan for objects of `object_type` read by `selections`, or None if one cannot do.

    `joined` names the fields (by Python name) the caller fills from its joins; the plans of
    related objects add their columns to the same select list.
    """
    definition = object_type.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None:
        return None
    plan = ObjectPlan(definition.origin, columns=[] if columns is None else columns)
    planned: set[str] = set()
    for selection in flattened_fields(selections):
        if selection.name == "__typename" or selection.name in planned:
            continue
        planned.add(selection.name)
        if not _plan_field(plan, object_type, selection.name, selections, joined):
            return None
    return plan


def _plan_field(
    plan: ObjectPlan,
    object_type: GraphQLObjectType,
    graphql_name: str,
    selections: Sequence[Selection],
    joined: Mapping[str, Joined],
) -> bool:
    graphql_field = object_type.fields.get(graphql_name)
    if graphql_field is None or graphql_field.args:
        return False
    strawberry_field = graphql_field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(strawberry_field, StrawberryField):
        return False
    name = strawberry_field.python_name
    source = strawberry_field.metadata.get(COLUMN)
    if isinstance(source, ColumnSource) and strawberry_field.is_basic_field:
        plan.values.append((name, _index(plan.columns, source.column), source.convert))
        return True
    entry = joined.get(name)
    if entry is None:
        return False
    if entry.source is not None:
        index = _index(plan.columns, entry.source.column)
        plan.values.append((entry.attribute, index, entry.source.convert))
        return True
    related_type = _object_type(graphql_field.type)
    if related_type is None:
        return False
    nested = [
        nested_selection
        for occurrence in selected_fields(selections, graphql_name)
        for nested_selection in occurrence.selections
    ]
    related = plan_objects(related_type, nested, entry.fields, plan.columns)
    if related is None:
        return False
    key_index = None if entry.key is None else _index(plan.columns, entry.key)
    plan.related.append((entry.attribute, key_index, related))
    return True


def flattened_fields(selections: Iterable[Selection]) -> list[SelectedField]:
    """The fields among `selections`, those of fragments included."""
    fields: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, (FragmentSpread, InlineFragment)):
            fields += flattened_fields(selection.selections)
        else:
            fields.append(selection)
    return fields


def _index(columns: list[SqlColumn], wanted: SqlColumn) -> int:
    """The position of `wanted` in the select list, added once."""
    for index, existing in enumerate(columns):
        if existing is wanted:
            return index
    columns.append(wanted)
    return len(columns) - 1


def _object_type(graphql_type: GraphQLOutputType) -> GraphQLObjectType | None:
    if isinstance(graphql_type, GraphQLNonNull):
        graphql_type = graphql_type.of_type
    return graphql_type if isinstance(graphql_type, GraphQLObjectType) else None
