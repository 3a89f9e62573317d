"""The one log formatter: JSON or text, every line with time, level, worker and request id,
tracebacks without the values of local variables."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator

import pytest

from magnaprov.serve.log_config import build_formatter, logging_config
from magnaprov.serve.request_ids import request_id_of
from magnaprov.settings import Settings


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    log = logging.getLogger("magnaprov.test_log_format")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    yield log, stream, handler
    log.removeHandler(handler)
    log.propagate = True


def fail_with_a_secret_in_a_local() -> None:
    # Made at run time, so only a traceback showing locals (not the source line) holds it.
    password = "-".join(["Local", "Secret", str(991)])  # noqa: F841
    raise ValueError("refused")


def test_json_lines_carry_time_level_worker_request_id_and_extra_fields(logger):
    log, stream, handler = logger
    handler.setFormatter(build_formatter("json"))
    request_id_of([(b"x-request-id", b"req-42")])
    log.info("device %s served", 7, extra={"device": 7})
    line = json.loads(stream.getvalue())
    assert line["event"] == "device 7 served" and line["device"] == 7
    assert line["level"] == "info" and line["logger"] == "magnaprov.test_log_format"
    assert line["worker"] == os.getpid() and line["request_id"] == "req-42"
    assert line["time"].endswith("Z")


def test_text_lines_carry_the_same_fields(logger):
    log, stream, handler = logger
    handler.setFormatter(build_formatter("text"))
    request_id_of([(b"x-request-id", b"req-43")])
    log.warning("waiting")
    text = stream.getvalue()
    assert "waiting" in text and "warning" in text
    assert f"worker={os.getpid()}" in text and "request_id=req-43" in text


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_traceback_never_shows_the_values_of_local_variables(logger, log_format):
    log, stream, handler = logger
    handler.setFormatter(build_formatter(log_format))
    try:
        fail_with_a_secret_in_a_local()
    except ValueError:
        log.exception("failed")
    text = stream.getvalue()
    assert "ValueError: refused" in text and "fail_with_a_secret_in_a_local" in text
    assert "Local-Secret-991" not in text


def test_uvicorn_loggers_have_no_handler_of_their_own_but_the_root_one():
    config = logging_config(Settings(_env_file=None, log_format="json", log_level="warning"))  # type: ignore[call-arg]
    assert config["root"] == {"handlers": ["stderr"], "level": "WARNING"}
    assert config["formatters"]["magnaprov"]["log_format"] == "json"
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert config["loggers"][name]["handlers"] == []
        assert config["loggers"][name]["propagate"] is True
