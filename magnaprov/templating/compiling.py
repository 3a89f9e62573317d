"""Turning template sources into compiled templates, once.

Compiled templates are cached: the Server default's in each environment by name,
account templates here by a hash of their source, so a bulk re-render of 10,000
devices compiles each distinct template once. A source that fails to compile is
cached as its error, for the same reason.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from functools import cache

from jinja2 import Template, TemplateSyntaxError

from .catalog import Equipment, FileSpec
from .default_templates import DefaultTemplateLoader, default_template_name
from .errors import TemplateRenderError
from .formats import FileFormat
from .limits import MAX_SOURCE_CHARS
from .sandbox import ProvisioningSandbox

__all__ = ["account_template", "default_template", "error_location", "sandbox_for"]

_ACCOUNT_CACHE_SIZE = 2048


@cache
def sandbox_for(file_format: FileFormat) -> ProvisioningSandbox:
    """The environment of one file format (one per process)."""
    return ProvisioningSandbox(file_format, DefaultTemplateLoader(file_format))


def default_template(equipment: Equipment, spec: FileSpec) -> Template:
    """The Server default's template for one file of an equipment."""
    name = default_template_name(equipment, spec.pattern)
    try:
        return sandbox_for(spec.format).get_template(name)
    except TemplateSyntaxError as error:  # a broken built-in file: a bug, said plainly
        raise TemplateRenderError(name, error.lineno, error.message or "syntax error") from error


def account_template(spec: FileSpec, source: str) -> Template:
    """An account's template for one file, compiled from its source (cached)."""
    key = (spec.format, spec.pattern, hashlib.sha256(source.encode("utf-8")).hexdigest())
    compiled = _ACCOUNT_TEMPLATES.get(key)
    if compiled is None:
        compiled = _compile(spec.format, spec.pattern, source)
        _ACCOUNT_TEMPLATES.put(key, compiled)
    if isinstance(compiled, TemplateRenderError):
        raise compiled
    return compiled


def error_location(error: BaseException, fallback_file: str) -> tuple[str, int | None]:
    """The template file and line an error comes from.

    Jinja rewrites the traceback of a render error so that frames of template code
    carry the template's file name and line; the deepest such frame is the one.
    """
    if isinstance(error, TemplateSyntaxError):
        return error.filename or error.name or fallback_file, error.lineno
    file, line = fallback_file, None
    frame = error.__traceback__
    while frame is not None:
        if "__jinja_exception__" in frame.tb_frame.f_globals:
            file, line = frame.tb_frame.f_code.co_filename, frame.tb_lineno
        frame = frame.tb_next
    return file, line


def _compile(file_format: FileFormat, pattern: str, source: str) -> Template | TemplateRenderError:
    if len(source) > MAX_SOURCE_CHARS:
        return TemplateRenderError(pattern, None, f"template over {MAX_SOURCE_CHARS} characters")
    environment = sandbox_for(file_format)
    try:
        code = environment.compile(source, filename=pattern)
    except TemplateSyntaxError as error:
        return TemplateRenderError(pattern, error.lineno, error.message or "syntax error")
    except RecursionError:
        return TemplateRenderError(pattern, None, "the template is nested too deeply")
    except SyntaxError as error:  # Python's own limits; its line is of generated code
        return TemplateRenderError(pattern, None, f"cannot compile: {error.msg}")
    except Exception as error:  # e.g. an integer literal too long to read
        return TemplateRenderError(pattern, None, f"cannot compile: {str(error)[:200]}")
    return environment.template_class.from_code(environment, code, environment.make_globals(None))


class _LruCache:
    """A small thread-safe LRU map; functools.lru_cache would keep whole sources as keys."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str, str], Template | TemplateRenderError]
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> Template | TemplateRenderError | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, str, str], value: Template | TemplateRenderError) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_ACCOUNT_TEMPLATES = _LruCache(_ACCOUNT_CACHE_SIZE)
