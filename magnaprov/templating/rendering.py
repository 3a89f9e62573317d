"""Rendering a device's files, within the limits.

Every file of the device's equipment is rendered: from the account template's
file where it has one, otherwise from the Server default. Output is streamed
from ``Template.generate`` so an oversized file is cut off as soon as it passes
the limit, and the render budget (steps, text, deadline) is active throughout.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import cast

from jinja2 import Template, TemplateNotFound, UndefinedError

from .catalog import Equipment, FileSpec
from .compiling import account_template, default_template, error_location
from .context import DeviceRenderInput, RenderContext, build_common_context, build_render_context
from .default_templates import default_template_name
from .errors import TemplateRenderError
from .file_names import expand_pattern
from .formats import FileFormat
from .limits import MAX_OUTPUT_BYTES, RENDER_SECONDS, RenderBudget, active_budget

__all__ = ["RenderedFile", "render_device_files", "render_file"]


@dataclass(frozen=True)
class RenderedFile:
    """One file as a phone will receive it; ``etag`` is quoted, ready for HTTP."""

    name: str
    content: bytes
    etag: str
    pattern: str
    per_device: bool


def render_device_files(
    equipment: Equipment,
    template_files: Mapping[str, str] | None,
    data: DeviceRenderInput,
    *,
    seconds_per_file: float = RENDER_SECONDS,
) -> list[RenderedFile]:
    """Every file of the equipment for one device, in catalog order.

    ``template_files`` maps file patterns to the account template's sources; a
    pattern it lacks comes from the Server default, a pattern the equipment does
    not have is ignored. Common files see only :func:`build_common_context`.
    Raises :class:`TemplateRenderError` for the first file that fails.
    """
    contexts = _Contexts(equipment, data)
    sources = template_files or {}
    return [
        _render(
            equipment,
            spec,
            sources.get(spec.pattern),
            contexts.of(spec),
            data.device.mac,
            seconds_per_file,
        )
        for spec in equipment.firmware.files
    ]


def render_file(
    equipment: Equipment,
    pattern: str,
    source: str | None,
    data: DeviceRenderInput,
    *,
    seconds: float = RENDER_SECONDS,
) -> RenderedFile:
    """One file: from ``source`` if given, else from the Server default (for previews)."""
    spec = equipment.firmware.file(pattern)
    if spec is None:
        raise TemplateRenderError(pattern, None, "this equipment has no such file")
    return _render(
        equipment, spec, source, _Contexts(equipment, data).of(spec), data.device.mac, seconds
    )


class _Contexts:
    """The two contexts of a device's files, each built once and only when needed."""

    def __init__(self, equipment: Equipment, data: DeviceRenderInput) -> None:
        self._equipment = equipment
        self._data = data
        self._built: dict[bool, RenderContext] = {}

    def of(self, spec: FileSpec) -> RenderContext:
        """The context for `spec`: the device's own for its files, the common one otherwise."""
        if spec.per_device not in self._built:
            build = build_render_context if spec.per_device else build_common_context
            self._built[spec.per_device] = build(self._equipment, self._data)
        return self._built[spec.per_device]


def _render(
    equipment: Equipment,
    spec: FileSpec,
    source: str | None,
    context: RenderContext,
    mac: str,
    seconds: float,
) -> RenderedFile:
    if source is None:
        template = default_template(equipment, spec)
    else:
        template = account_template(spec, source)
    values = dict(context, server_default=default_template_name(equipment, spec.pattern))
    text = _finish(spec.format, _generate(template, values, spec, seconds))
    content = text.encode("utf-8")
    if len(content) > MAX_OUTPUT_BYTES:
        raise TemplateRenderError(spec.pattern, None, f"output over {MAX_OUTPUT_BYTES} bytes")
    return RenderedFile(
        name=expand_pattern(spec.pattern, mac),
        content=content,
        etag=f'"{hashlib.sha256(content).hexdigest()}"',
        pattern=spec.pattern,
        per_device=spec.per_device,
    )


def _generate(template: Template, values: RenderContext, spec: FileSpec, seconds: float) -> str:
    file = spec.pattern
    parts: list[str] = []
    size = 0
    with active_budget(RenderBudget.starting_now(seconds)):
        chunks = cast(Generator[str, None, None], template.generate(values))
        try:
            for chunk in chunks:
                size += len(chunk)
                if size > MAX_OUTPUT_BYTES:
                    raise TemplateRenderError(file, None, f"output over {MAX_OUTPUT_BYTES} bytes")
                parts.append(chunk)
        except TemplateRenderError:
            raise
        except Exception as error:  # any failure of user template code is a render error
            where, line = error_location(error, file)
            raise TemplateRenderError(where, line, _describe(error, spec)) from error
        finally:
            chunks.close()
    return "".join(parts)


def _describe(error: Exception, spec: FileSpec) -> str:
    message = str(error) or type(error).__name__
    if isinstance(error, UndefinedError) and not spec.per_device:
        message += (
            "; a common file sees only device protocol and hosts, server, time, resync, "
            "equipment and common file names: no line, extension, account or device secret"
        )
    elif isinstance(error, TemplateNotFound):
        message = f"no template named {error.name!r}: only server_default can be extended"
    elif isinstance(error, RecursionError):
        message = "macros or blocks call each other too deeply"
    elif type(error).__module__ == "builtins" and not isinstance(error, (TypeError, ValueError)):
        message = f"{type(error).__name__}: {message}"
    return message[:300]


def _finish(file_format: FileFormat, text: str) -> str:
    """Line endings and closing lines a format requires, whatever the template wrote."""
    if file_format is FileFormat.PANASONIC:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
        return lines.replace("\n", "\r\n") + "\r\n\r\n"
    return text
