"""Log lines: JSON (one object a line, CP_LOG_FORMAT=json) or text (for a terminal).

`serve` hands `logging_config(settings)` to the server (uvicorn or Granian), so every worker
process, the server's own loggers and the app's (`app.*`) write alike. The server's access
log is always off: the app writes the one line per request itself, with what the server
cannot know (route template, cache outcome, dataset revision, request id). Those request
lines do not go through `logging` (app.observability.request_log: formatted directly and
written in batches, in these same two formats); `app.access`'s level still decides whether
they are written (CP_LOG_LEVEL=warning drops them).

Every line written while a request is handled carries its request id.
"""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

from app.observability.request_ids import current_record
from app.observability.request_log import iso_time
from app.settings import Settings

EVENTS_LOGGER = "app.events"
LOG_FORMATS = ("text", "json")


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


class TextFormatter(logging.Formatter):
    """`time level logger message [request id]`, and the traceback of an error."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return iso_time(record.created)

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = record.__dict__
        line = f"{self.formatTime(record)} {record.levelname} {record.name} {record.getMessage()}"
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
