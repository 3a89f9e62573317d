"""One logging set-up for the whole server: our loggers, uvicorn's and alembic's alike.

Everything logs through the standard library's `logging` (ours, uvicorn's, alembic's); one
handler on the root logger formats every record with structlog's `ProcessorFormatter`, as a
JSON object a line (`MAGNAPROV_LOG_FORMAT=json`) or as readable text. structlog rather than a
JSON formatter of our own: it is a well-kept library that already turns stdlib records, their
`extra=` fields and exceptions into one event dict, and renders it either way. Every line
carries `time` (UTC), `level`, `worker` (the process id), `request_id` (None outside a request)
and `logger`; its message is `event`.

Tracebacks are plain text, without local variables: a frame's locals can hold a password.
"""

from __future__ import annotations

import logging
import logging.config
import os
from typing import Any

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from magnaprov.serve.request_ids import REQUEST_ID
from magnaprov.settings import Settings

__all__ = ["build_formatter", "configure_logging", "logging_config", "worker_fields"]

# uvicorn adds a copy of its message with terminal colour codes to some records.
_DROPPED_EXTRAS = ("color_message",)


def worker_fields(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """The fields every line carries beyond time and level: the process and the request."""
    event["worker"] = os.getpid()
    event["request_id"] = REQUEST_ID.get()
    for name in _DROPPED_EXTRAS:
        event.pop(name, None)
    return event


def _json_dumps(value: Any, **_options: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def build_formatter(log_format: str = "text") -> logging.Formatter:
    """The formatter of every handler (named by `logging_config`, so uvicorn's workers too)."""
    renderer: Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer(serializer=_json_dumps)
        finish: list[Processor] = [structlog.processors.format_exc_info, renderer]
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=False,
            pad_event_to=0,
            timestamp_key="time",
            exception_formatter=structlog.dev.plain_traceback,
        )
        finish = [renderer]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
            structlog.stdlib.ExtraAdder(),
            worker_fields,
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *finish],
    )


def logging_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` configuration: uvicorn applies it in every worker."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "magnaprov": {
                "()": f"{__name__}.build_formatter",
                "log_format": settings.log_format,
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "magnaprov",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": settings.log_level.upper()},
        # uvicorn's loggers carry no handler of their own: their records reach the root's.
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": settings.log_level.upper()}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure_logging(settings: Settings) -> None:
    """Apply `logging_config` to this process."""
    logging.config.dictConfig(logging_config(settings))
