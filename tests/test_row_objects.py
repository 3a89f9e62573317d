"""Objects built from rows of columns (schema/row_objects.py), apart from any GraphQL."""

from __future__ import annotations

import gc
from dataclasses import FrozenInstanceError, dataclass

import pytest

from magnaprov.schema.row_objects import ObjectPlan


class Owner:
    login: str


class Line:
    number: str
    owner: Owner | None


@dataclass(frozen=True)
class FrozenLine:
    number: str


def line_plan() -> ObjectPlan:
    owner = ObjectPlan(Owner, values=[("login", 2, None)])
    return ObjectPlan(Line, values=[("number", 0, str.upper)], related=[("owner", 1, owner)])


def test_objects_hold_the_row_values_converted_and_their_related_object_or_none() -> None:
    plan = line_plan()
    built = plan.build(("ab100", 7, "alice"))
    assert isinstance(built, Line)
    assert built.number == "AB100"
    assert isinstance(built.owner, Owner)
    assert built.owner.login == "alice"
    assert plan.build(("x1", None, None)).owner is None  # no related row


def test_objects_of_plain_classes_carry_no_dictionary_for_the_collector_to_walk() -> None:
    built = line_plan().build(("ab100", 7, "alice"))
    assert dict not in {type(referent) for referent in gc.get_referents(built)}
    assert vars(built) == {"number": "AB100", "owner": built.owner}  # still ordinary objects


def test_a_class_that_guards_its_attributes_is_filled_through_its_dictionary() -> None:
    built = ObjectPlan(FrozenLine, values=[("number", 0, None)]).build(("ab100",))
    assert built.number == "ab100"
    with pytest.raises(FrozenInstanceError):
        built.number = "changed"  # type: ignore[misc]
