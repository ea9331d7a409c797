"""Runs the app under uvicorn, with one or several worker processes."""

from __future__ import annotations

import sys

import uvicorn

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
    with metrics_dir(workers):  # before workers start: they must all write their metrics to one place
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers if not reload else None,
            reload=reload,
            log_config=None,
            timeout_graceful_shutdown=settings.graceful_shutdown_timeout,
            root_path=settings.root_path,
        )
