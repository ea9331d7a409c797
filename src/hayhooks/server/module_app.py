"""The module-level ``app`` of ``hayhooks.server.app``, for servers that import an app object by name::

    uvicorn hayhooks.server.app:app --workers 4
    fastapi run src/hayhooks/server/app.py --workers 4

It is built on first access (``create_app()`` with the ``HAYHOOKS_*`` settings of the environment), once per
process, so importing ``hayhooks.server.app`` stays cheap and each worker builds its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

_app: FastAPI | None = None
_lock = threading.Lock()


def module_app(create_app: Callable[[], FastAPI]) -> FastAPI:
    """This process's app, built with ``create_app`` (settings from the environment) the first time it is asked for."""
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                _app = create_app()
    return _app


# Names ``hayhooks.server.app`` resolves lazily through its module ``__getattr__``.
LAZY_NAMES = ("app", "run_app")


def lazy_attribute(name: str, create_app: Callable[[], FastAPI]) -> object:
    if name == "app":
        return module_app(create_app)
    if name == "run_app":
        from hayhooks.process import run_app

        return run_app
    raise AttributeError(f"module 'hayhooks.server.app' has no attribute {name!r}")
