"""Names of the Server default's template files, and the loader that serves them.

Template names are made by the server only: ``default/<manufacturer>/<model>/
<firmware>/<pattern>``, one per file of every catalog equipment. The loader
resolves those names and nothing else — no path from a template can reach the
file system — and only for its own file format.
"""

from __future__ import annotations

from collections.abc import Callable

from jinja2 import BaseLoader, Environment, TemplateNotFound

from .catalog import Equipment, FileSpec
from .catalog_files import load_catalog, template_resource
from .formats import FileFormat

__all__ = ["DefaultTemplateLoader", "default_spec", "default_template_name"]

_PREFIX = "default"


def default_template_name(equipment: Equipment, pattern: str) -> str:
    """The name an account template extends: ``{% extends server_default %}``."""
    maker, model, firmware = equipment.keys
    return f"{_PREFIX}/{maker}/{model}/{firmware}/{pattern}"


def default_spec(name: str) -> FileSpec | None:
    """The catalog file a default template name stands for, or None."""
    parts = name.split("/")
    if len(parts) != 5 or parts[0] != _PREFIX:
        return None
    equipment = load_catalog().find(parts[1], parts[2], parts[3])
    return equipment.firmware.file(parts[4]) if equipment else None


class DefaultTemplateLoader(BaseLoader):
    """Serves the built-in default templates of one file format, by catalog name."""

    def __init__(self, file_format: FileFormat) -> None:
        self.file_format = file_format

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        spec = default_spec(template)
        if spec is None or spec.format is not self.file_format:
            raise TemplateNotFound(template)
        source = template_resource(spec.template).read_text(encoding="utf-8")
        # The built-in files never change while the process runs.
        return source, template, lambda: True
