"""The ``log`` object wrappers import: ``from hayhooks import log`` (also ``hayhooks.server.logger.log``).

``log`` is loguru's logger, as in Hayhooks 2.1.0: ``log.info("x={}", x)``, ``log.success``, ``log.trace``,
``log.opt(exception=True)``, ``log.bind(user=...)``, ``log.add(sink)``. One mechanism carries its messages to the
server's output: loguru's default stderr sink is replaced by a sink that hands every record to the standard
library logger ``hayhooks``, so wrapper messages come out through the server's own handler, in the configured
format (``HAYHOOKS_LOG_FORMAT``, JSON included), filtered by ``HAYHOOKS_LOG_LEVEL`` and tagged with the request id.
Sinks a user adds with ``log.add`` receive the records as well.
"""

from __future__ import annotations

import logging
from typing import Any

from loguru import logger as log

_TARGET = logging.getLogger("hayhooks")
# Loguru's own levels that the standard library has no name for.
logging.addLevelName(5, "TRACE")
logging.addLevelName(25, "SUCCESS")


def _enabled(record: dict[str, Any]) -> bool:
    return _TARGET.isEnabledFor(record["level"].no)


def _forward(message: Any) -> None:
    """Loguru sink: re-emit the record through the ``hayhooks`` standard library logger."""
    record = message.record
    exception = record["exception"]
    exc_info = (exception.type, exception.value, exception.traceback) if exception and exception.type else None
    std_record = _TARGET.makeRecord(
        record["name"] or _TARGET.name,
        record["level"].no,
        record["file"].path,
        record["line"],
        record["message"],
        (),
        exc_info,
        func=record["function"],
        extra={"loguru_extra": record["extra"]} if record["extra"] else None,
    )
    _TARGET.handle(std_record)


def _install() -> None:
    try:
        log.remove(0)  # loguru's default stderr sink: the server's handler prints instead
    except ValueError:
        pass  # already removed (by the user, or by an earlier import of this module)
    log.add(_forward, level=0, format="{message}", filter=_enabled, enqueue=False, catch=True)


_install()

__all__ = ["log"]
