"""Provisioning templates: the equipment catalog, the Server default templates,
the sandboxed Jinja2 environment, and rendering a device's file set.

Pure Python, no database: the rest of the server passes plain data in and gets
bytes out. See docs/templates.md for the variables templates see.
"""

from .boot_paths import BootPath, BootStep, BootTransport
from .catalog import (
    Catalog,
    Equipment,
    FileSpec,
    FirmwareVersion,
    LinkStyle,
    Manufacturer,
    Model,
    UpdateProtocol,
)
from .catalog_files import CatalogError, find_equipment, load_catalog
from .checking import TemplateCheck, TemplateProblem, compile_template_file
from .context import (
    AccountInfo,
    Codec,
    DeviceInfo,
    DeviceRenderInput,
    DtmfMode,
    ExtensionInfo,
    LineInfo,
    OrganizationInfo,
    RenderContext,
    ServerInfo,
    SipPreferences,
    Transport,
    build_common_context,
    build_render_context,
)
from .default_templates import default_template_name
from .errors import TemplateRenderError
from .exact_values import ValueRole, value_problem
from .file_names import FileNameMatch, expand_pattern, match_pattern, normalize_mac
from .formats import FileFormat
from .limits import (
    MAX_OUTPUT_BYTES,
    MAX_RANGE,
    MAX_SOURCE_CHARS,
    RENDER_SECONDS,
)
from .rendering import RenderedFile, render_device_files, render_file
from .samples import sample_render_input

__all__ = [
    "MAX_OUTPUT_BYTES",
    "MAX_RANGE",
    "MAX_SOURCE_CHARS",
    "RENDER_SECONDS",
    "AccountInfo",
    "BootPath",
    "BootStep",
    "BootTransport",
    "Catalog",
    "CatalogError",
    "Codec",
    "DeviceInfo",
    "DeviceRenderInput",
    "DtmfMode",
    "Equipment",
    "ExtensionInfo",
    "FileFormat",
    "FileNameMatch",
    "FileSpec",
    "FirmwareVersion",
    "LineInfo",
    "LinkStyle",
    "Manufacturer",
    "Model",
    "OrganizationInfo",
    "RenderContext",
    "RenderedFile",
    "ServerInfo",
    "SipPreferences",
    "TemplateCheck",
    "TemplateProblem",
    "TemplateRenderError",
    "Transport",
    "UpdateProtocol",
    "ValueRole",
    "build_common_context",
    "build_render_context",
    "compile_template_file",
    "default_template_name",
    "expand_pattern",
    "find_equipment",
    "load_catalog",
    "match_pattern",
    "normalize_mac",
    "render_device_files",
    "render_file",
    "sample_render_input",
    "value_problem",
]
