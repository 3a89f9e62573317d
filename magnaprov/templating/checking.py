"""The check run when an account saves a template file: compile, then test-render.

Errors come back as data — file, line and message — for the API to show next to
the editor; nothing is raised for a bad template.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import Equipment
from .compiling import account_template
from .errors import TemplateRenderError
from .output_checks import check_output
from .rendering import RenderedFile, render_file
from .samples import sample_render_input

__all__ = ["TemplateCheck", "TemplateProblem", "compile_template_file"]


@dataclass(frozen=True)
class TemplateProblem:
    """One thing wrong with a template file; ``line`` is a template or output line."""

    file: str
    line: int | None
    message: str


@dataclass(frozen=True)
class TemplateCheck:
    """The outcome of checking a template file; ``sample`` is its render with sample data."""

    problems: tuple[TemplateProblem, ...]
    sample: RenderedFile | None

    @property
    def ok(self) -> bool:
        return not self.problems


def compile_template_file(equipment: Equipment, pattern: str, source: str) -> TemplateCheck:
    """Compile an account's template file and render it with :func:`sample_render_input`.

    Reports syntax errors, render errors and limits with their file and line, and an
    output the phone could not read. A common file needs no check for tenant data: it is
    rendered from a context that holds none (see ``build_common_context``).
    """
    spec = equipment.firmware.file(pattern)
    if spec is None:
        return _failed(pattern, None, "this equipment has no file with that name")
    sample = sample_render_input(equipment)
    try:
        account_template(spec, source)
        rendered = render_file(equipment, pattern, source, sample)
    except TemplateRenderError as error:
        return _failed(error.file, error.line, error.message)
    problems = [
        TemplateProblem(rendered.name, found.line, f"output: {found.message}")
        for found in check_output(spec, rendered.content)
    ]
    return TemplateCheck(tuple(problems), rendered)


def _failed(file: str, line: int | None, message: str) -> TemplateCheck:
    return TemplateCheck((TemplateProblem(file, line, message),), None)
