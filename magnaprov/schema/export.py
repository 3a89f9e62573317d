"""Print the GraphQL schema in SDL: `python -m magnaprov.schema.export > schema.graphql`."""

from __future__ import annotations

from magnaprov.schema.root import build_schema
from magnaprov.settings import Settings

__all__ = ["schema_sdl"]


def schema_sdl() -> str:
    """The SDL of the schema, as committed in `schema.graphql`."""
    return build_schema(Settings(_env_file=None)).as_str() + "\n"


if __name__ == "__main__":
    print(schema_sdl(), end="")
