"""Errors reported about templates, with the file and line they come from."""

from __future__ import annotations

__all__ = ["TemplateRenderError"]


class TemplateRenderError(Exception):
    """A template could not be compiled or rendered, or went over a limit.

    ``file`` is the template's file pattern (``{mac}.cfg``) or, for an error inside
    the Server default, its name (``default/yealink/T46S/V81/{mac}.cfg``).
    ``line`` is the template line, when known.
    """

    def __init__(self, file: str, line: int | None, message: str) -> None:
        where = f"{file}, line {line}" if line is not None else file
        super().__init__(f"{where}: {message}")
        self.file = file
        self.line = line
        self.message = message
