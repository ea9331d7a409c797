"""Everything about the server's processes, apart from what a request does.

- ``serve()`` (below): the one entry point ``hayhooks run`` calls. One worker, ``--reload`` or a system whose
  kernel does not balance ``SO_REUSEPORT`` listeners: ``uvicorn.run``; several workers on Linux:
  ``supervisor.serve_workers``.
- ``sockets``: one listening socket per worker on the same address; ``supervisor``: uvicorn's supervisor, keeping
  each socket with a worker; ``heartbeats`` and ``failover``: idle workers serve a blocked sibling's socket.
- ``gc_tuning``: the collector relaxed while the process starts, frozen once the app has started.
- ``signals``: exit status 0 after a graceful SIGTERM; ``metrics_dir``: one Prometheus dir for all workers.

Importing this package is cheap (the console script imports ``gc_tuning`` before anything else).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hayhooks.settings import Settings

APP_FACTORY = "hayhooks.server.app:create_app"  # called with no arguments: settings come from the environment


def serve(settings: Settings, *, reload: bool = False) -> None:
    """Serve the app (``APP_FACTORY``, built in each worker from the environment) until stopped."""
    import uvicorn

    from hayhooks.process import gc_tuning, sockets
    from hayhooks.process.metrics_dir import metrics_dir
    from hayhooks.process.signals import exit_zero_after_sigterm
    from hayhooks.process.supervisor import serve_workers

    workers = settings.workers if not reload else 1
    if workers > 1 or reload:  # the app is served by other processes: this one collects as usual
        gc_tuning.restore()
    else:  # served from this process: loaded with fewer gc runs, until the app calls gc_tuning.startup_finished()
        gc_tuning.relax()
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
    """Serve an app object (e.g. ``create_app()`` with your own middleware added) with uvicorn, in this process.

    ``host`` and ``port`` default to ``HAYHOOKS_HOST`` / ``HAYHOOKS_PORT``. For several workers, serve the app from
    an import string instead (``uvicorn mymodule:app --workers 4``).
    """
    import uvicorn

    from hayhooks.settings import get_settings

    settings = get_settings()
    uvicorn.run(
        app,
        host=host if host is not None else settings.host,
        port=port if port is not None else settings.port,
        log_config=None,
        timeout_graceful_shutdown=settings.graceful_shutdown_timeout,
    )
