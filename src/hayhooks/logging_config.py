"""Configures the ``hayhooks`` loggers from settings (level and line format)."""

from __future__ import annotations

import json
import logging
import sys
import time

from hayhooks.context import RequestIdFilter
from hayhooks.settings import Settings

# ``request_tag`` is "[REQUEST_ID] " on lines logged while serving a request (see hayhooks.context).
_FORMATS = {
    "default": "%(asctime)s | %(levelname)-7s | %(request_tag)s%(message)s",
    "verbose": "%(asctime)s | %(levelname)-7s | %(process)d | %(name)s:%(funcName)s:%(lineno)d | "
    "%(request_tag)s%(message)s",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def build_formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter(_FORMATS.get(log_format, _FORMATS["default"]), defaults={"request_tag": ""})


def configure_logging(settings: Settings) -> None:
    """Route ``hayhooks`` (and uvicorn's) logs to stderr in the configured format and level."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(build_formatter(settings.log_format))
    handler.addFilter(RequestIdFilter())
    for name in ("hayhooks", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(settings.log_level)
    logging.getLogger("uvicorn.access").setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)))
