"""The committed schema.graphql is the contract, and the schema documents itself."""

from __future__ import annotations

from conftest import PROJECT_ROOT
from graphql import GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

from magnaprov.schema.export import schema_sdl
from magnaprov.schema.root import build_schema
from magnaprov.settings import Settings


def test_committed_schema_matches_the_code():
    committed = (PROJECT_ROOT / "schema.graphql").read_text()
    assert committed == schema_sdl(), (
        "schema.graphql is stale: run `make schema` and review the difference"
    )


def test_every_type_field_and_argument_has_a_description():
    schema = build_schema(Settings(_env_file=None))._schema  # type: ignore[call-arg]
    missing = []
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Boolean", "Int", "Float", "ID"}:
            continue
        if not graphql_type.description:
            missing.append(name)
        if isinstance(
            graphql_type, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)
        ):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
    assert missing == []
