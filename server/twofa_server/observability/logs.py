"""The application log on stderr: `text` (one line per message) or `json` (one object per line).

This is the log of what the server does (start-up, reloads, delivery problems); the
audit log (audit.py) is a stream of its own, so the two can go to different sinks.
A JSON line holds `time` (RFC 3339, UTC, milliseconds), `level`, `logger`, `message`
and, for a line written while a call is handled, `request_id`.

An exception is never written with its traceback, in either format: a traceback can
quote a secret held in a variable or an exception's text. A line names the
exception's type and the place it was raised (`ValueError at keyring.py:212`), which
is twofa's rule for errors everywhere.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import traceback
from types import TracebackType
from typing import Any, TextIO

from .audit import rfc3339
from .request_id import current_request_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def describe_exception(kind: type[BaseException] | None, tb: TracebackType | None) -> str | None:
    """`ValueError at keyring.py:212`: the type and the innermost place, never the text."""
    if kind is None:
        return None
    frames = traceback.extract_tb(tb)
    if not frames:
        return kind.__name__
    last = frames[-1]
    return f"{kind.__name__} at {last.filename.rsplit('/', 1)[-1]}:{last.lineno}"


def _exception_of(record: logging.LogRecord) -> str | None:
    if not record.exc_info:
        return None
    kind, _, tb = record.exc_info
    return describe_exception(kind, tb)


class TextFormatter(logging.Formatter):
    """The classic line, with an exception shown by type and place instead of a traceback."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(_without_traceback(record))
        error = _exception_of(record)
        return f"{line} [{error}]" if error else line


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in the message are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": rfc3339(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id is not None:
            entry["request_id"] = request_id
        error = _exception_of(record)
        if error:
            entry["error"] = error
        return json.dumps(entry, ensure_ascii=False)


def _without_traceback(record: logging.LogRecord) -> logging.LogRecord:
    if not (record.exc_info or record.exc_text or record.stack_info):
        return record
    copy = logging.makeLogRecord(record.__dict__)
    copy.exc_info, copy.exc_text, copy.stack_info = None, None, None
    return copy


def configure_logging(level: str, log_format: str, stream: TextIO | None = None) -> None:
    """Sends every log record at `level` or above to `stream` (stderr) in `log_format`.

    Also routes Python warnings and uncaught exceptions (in any thread) through the
    log, so that none of them prints a traceback or breaks the one-object-a-line rule.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(
    kind: type[BaseException], error: BaseException, tb: TracebackType | None
) -> None:
    logging.getLogger("twofa").critical("uncaught %s", describe_exception(kind, tb) or "exception")


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    thread = args.thread.name if args.thread is not None else "?"
    logging.getLogger("twofa").critical(
        "uncaught %s in thread %s",
        describe_exception(args.exc_type, args.exc_traceback) or "exception",
        thread,
    )
