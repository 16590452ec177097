"""The application log's two formats, and twofa's rule for errors in both: an exception is
written by type and place, never with its text or traceback (either may quote a secret)."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from twofa_server.observability.logs import JsonFormatter, TextFormatter
from twofa_server.observability.request_id import set_request_id

SECRET = "JBSWY3DPEHPK3PXP-do-not-log"


def logged(formatter: logging.Formatter, *, in_call: bool = False) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("twofa.test-logging")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        if in_call:
            set_request_id("0123456789abcdef")
        try:
            raise ValueError(f"a secret in the text: {SECRET}")
        except ValueError:
            logger.exception("re-seal of %d records failed\nsecond line", 3)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_json_is_one_object_per_line_with_the_error_by_type_and_place() -> None:
    out = logged(JsonFormatter())
    assert out.count("\n") == 1
    entry = json.loads(out)
    assert entry["level"] == "error" and entry["logger"] == "twofa.test-logging"
    assert entry["message"] == "re-seal of 3 records failed\nsecond line"
    assert entry["error"].startswith("ValueError at test_logging.py:")
    assert "request_id" not in entry
    assert SECRET not in out and "Traceback" not in out


def test_json_carries_the_request_id_of_the_call() -> None:
    # A fresh context, as each call's task has: the id stays inside it.
    out = contextvars.copy_context().run(logged, JsonFormatter(), in_call=True)
    assert json.loads(out)["request_id"] == "0123456789abcdef"


def test_text_shows_the_error_by_type_and_place_without_a_traceback() -> None:
    out = logged(TextFormatter())
    assert " ERROR twofa.test-logging: re-seal of 3 records failed" in out
    assert "[ValueError at test_logging.py:" in out
    assert SECRET not in out and "Traceback" not in out


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_an_uncaught_exception_in_a_thread_is_logged_without_its_text(
    tmp_path: Path, log_format: str
) -> None:
    script = textwrap.dedent(
        f"""
        import threading
        from twofa_server.observability.logs import configure_logging

        configure_logging("info", {log_format!r})

        def fail():
            raise RuntimeError({SECRET!r})

        thread = threading.Thread(target=fail, name="twofa-job")
        thread.start()
        thread.join()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stderr and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert "uncaught RuntimeError at <string>:" in line and "in thread twofa-job" in line
    if log_format == "json":
        assert json.loads(line)["level"] == "critical"
