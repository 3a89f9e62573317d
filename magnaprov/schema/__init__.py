"""Strawberry types, inputs, enums and payloads; the root schema and its hardening."""

from magnaprov.schema.context import Context
from magnaprov.schema.root import build_schema

__all__ = ["Context", "build_schema"]
