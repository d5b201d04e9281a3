"""Log lines: JSON (one object a line, CP_LOG_FORMAT=json) or text (for a terminal).

`serve` hands `logging_config(settings)` to the server (uvicorn or Granian), so every worker
process, the server's own loggers and the app's (`app.*`) write alike. The server's access
log is always off: the app writes the one line per request itself (`app.access`, from
app.observability.middleware), with what the server cannot know (route template, cache
outcome, dataset revision, request id).

Every line written while a request is handled carries its request id. A request line never
holds a key: not the Authorization header, and key-like query parameters are redacted.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

from app.observability.request_ids import current_record
from app.settings import Settings

ACCESS_LOGGER = "app.access"
# What a request line holds (app.observability.middleware), in this order.
REQUEST_FIELDS = (
    "request_id",
    "method",
    "route",
    "path",
    "query",
    "status",
    "duration_ms",
    "db_ms",
    "bytes",
    "cache",
    "revision",
    "client",
    "http_version",
    "api_key",
    "problem",
)
EVENTS_LOGGER = "app.events"
LOG_FORMATS = ("text", "json")


# The last whole second formatted, with its text: one tuple, replaced whole, so threads
# never see one second's number with another's text.
_second: tuple[int, str] = (-1, "")


def iso_time(created: float) -> str:
    """`2026-12-01T23:40:00.123Z`: UTC, milliseconds (the seconds formatted once a second)."""
    global _second
    whole = int(created)
    cached = _second
    if cached[0] != whole:
        cached = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{cached[1]}.{int((created - whole) * 1000):03d}Z"


_encode = json.JSONEncoder(default=str, check_circular=False).encode


class RequestIdFilter(logging.Filter):
    """Adds the current request's id to every record logged while it is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            current = current_record()
            if current is not None:
                record.request_id = current.request_id
        return True


class JsonFormatter(_LibraryJsonFormatter):
    """python-json-logger with our names: time, level, logger, message, then the extras."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            # uvicorn's coloured copy of its message: for terminals, not for JSON.
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return iso_time(record.created)

    def format(self, record: logging.LogRecord) -> str:
        """Request lines take a short cut: their fields are known, and the library's general
        path (every record attribute weighed, then encoded) cost a cached read more than
        twice what the rest of its line did (measured: bench/observability.py)."""
        if record.name != ACCESS_LOGGER or "status" not in record.__dict__:
            return super().format(record)
        fields = record.__dict__
        document = {
            "time": iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.msg,
        }
        for name in REQUEST_FIELDS:
            if name in fields:
                document[name] = fields[name]
        return _encode(document)


class TextFormatter(logging.Formatter):
    """`time level logger message [request id]`; a request line reads like a classic access
    log line (`client - "GET /path HTTP/1.1" 200 ...`), which bench/harness.py counts."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return iso_time(record.created)

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = record.__dict__
        if record.name == ACCESS_LOGGER and "status" in fields:
            query = f"?{fields['query']}" if fields.get("query") else ""
            message = (
                f'{fields.get("client") or "-"} - "{fields["method"]} {fields["path"]}{query} '
                f'HTTP/{fields.get("http_version", "1.1")}" {fields["status"]} '
                f"{fields['bytes']}B {fields['duration_ms']}ms cache={fields.get('cache') or '-'} "
                f"route={fields.get('route')}"
            )
            if fields.get("api_key"):
                message += f" key={fields['api_key']}"
        else:
            message = record.getMessage()
        line = f"{self.formatTime(record)} {record.levelname} {record.name} {message}"
        if fields.get("request_id"):
            line += f" [{fields['request_id']}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def logging_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the server and the app, in CP_LOG_FORMAT."""
    formatter = JsonFormatter if settings.log_format == "json" else TextFormatter
    level = settings.log_level.upper()
    if level == "TRACE":
        level = "DEBUG"
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": "default",
        "filters": ["request_id"],
    }
    loggers = {
        name: {"handlers": ["default"], "level": level, "propagate": False}
        for name in ("app", "uvicorn", "uvicorn.error", "_granian", "granian")
    }
    # The server's access log would repeat the app's request line.
    loggers["uvicorn.access"] = {"handlers": [], "level": "WARNING", "propagate": False}
    loggers["granian.access"] = {"handlers": [], "level": "WARNING", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"default": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {"default": handler},
        "loggers": loggers,
        "root": {"handlers": ["default"], "level": "WARNING"},
    }


def log_event(logger: logging.Logger, event: str, message: str, **fields: Any) -> None:
    """An application event (seed run, revision switch, listener lost or back, shedding): one
    line with a stable `event` name, whatever the format."""
    logger.info(message, extra={"event": event, **fields})
