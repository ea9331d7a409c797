"""Runs the app under uvicorn, with one or several worker processes.

Several workers on Linux: each worker accepts connections from its own listening socket (all bound to the same
address with ``SO_REUSEPORT``, see ``hayhooks.server.sockets``), so the kernel spreads connections over the
workers, under uvicorn's supervisor. Elsewhere (one worker, ``--reload``, other systems): ``uvicorn.run``.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from hayhooks.server import sockets
from hayhooks.server.middleware.auth import KeyRing
from hayhooks.server.process import exit_zero_after_sigterm, metrics_dir
from hayhooks.settings import Settings, SettingsError

APP_FACTORY = "hayhooks.server.app:create_app_from_env"


def serve(settings: Settings, *, reload: bool = False) -> None:
    workers = settings.workers if not reload else 1
    try:
        KeyRing.from_settings(settings)  # unreadable key files: fail before any worker starts
    except SettingsError as exc:
        sys.exit(f"Error: {exc}")
    exit_zero_after_sigterm()
    options: dict[str, Any] = {
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers if not reload else None,
        "reload": reload,
        "log_config": None,
        "timeout_graceful_shutdown": settings.graceful_shutdown_timeout,
        "root_path": settings.root_path,
    }
    with metrics_dir(workers):  # before workers start: they must all write their metrics to one place
        if workers > 1 and sockets.kernel_balances():
            serve_workers(uvicorn.Config(APP_FACTORY, **options))
        else:
            uvicorn.run(APP_FACTORY, **options)


def run_app(app: Any, *, host: str | None = None, port: int | None = None) -> None:
    """Serve an app object (e.g. ``create_app()`` with your own middleware) with uvicorn, in this process.

    ``host`` and ``port`` default to ``HAYHOOKS_HOST`` / ``HAYHOOKS_PORT``. For several workers, serve the app
    from an import string instead (``uvicorn mymodule:app --workers 4``).
    """
    from hayhooks.settings import get_settings

    settings = get_settings()
    uvicorn.run(
        app,
        host=host if host is not None else settings.host,
        port=port if port is not None else settings.port,
        log_config=None,
        timeout_graceful_shutdown=settings.graceful_shutdown_timeout,
    )


def serve_workers(config: uvicorn.Config) -> None:
    """What ``uvicorn.run`` does with several workers, with one ``SO_REUSEPORT`` socket per worker.

    Exits with uvicorn's startup-failure status (3) when the address cannot be bound, and also when the
    supervisor stopped because a worker failed to start.
    """
    with sockets.worker_sockets(config) as listeners:
        supervisor = sockets.Supervisor(config, sockets=listeners)
        try:
            supervisor.run()
        except KeyboardInterrupt:
            pass
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        sys.exit(STARTUP_FAILURE)
