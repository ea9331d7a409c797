"""The ``log`` object wrappers import: ``from hayhooks import log``.

It accepts both ``log.info("x=%s", x)`` and the ``log.info("x={}", x)`` style, so wrappers written either way
keep working.
"""

from __future__ import annotations

import logging
from typing import Any


class _BraceMessage:
    __slots__ = ("fmt", "args", "kwargs")

    def __init__(self, fmt: str, args: tuple, kwargs: dict) -> None:
        self.fmt, self.args, self.kwargs = fmt, args, kwargs

    def __str__(self) -> str:
        try:
            return self.fmt.format(*self.args, **self.kwargs)
        except (IndexError, KeyError, ValueError):
            return self.fmt % self.args if self.args else self.fmt


class HayhooksLogger(logging.LoggerAdapter):
    """A logger that formats ``{}`` placeholders lazily and ``%s`` ones as the standard library does."""

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        std_kwargs = {k: kwargs.pop(k) for k in ("exc_info", "stack_info", "stacklevel", "extra") if k in kwargs}
        std_kwargs.setdefault("stacklevel", 3)
        if isinstance(msg, str) and "{" in msg and (args or kwargs):
            self.logger.log(level, _BraceMessage(msg, args, kwargs), **std_kwargs)
        else:
            self.logger.log(level, msg, *args, **std_kwargs)

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.DEBUG, msg, *args, **kwargs)

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.INFO, msg, *args, **kwargs)

    def success(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.INFO, msg, *args, **kwargs)

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.WARNING, msg, *args, **kwargs)

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.ERROR, msg, *args, **kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", True)
        self.log(logging.ERROR, msg, *args, **kwargs)

    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.CRITICAL, msg, *args, **kwargs)


log = HayhooksLogger(logging.getLogger("hayhooks"), {})
