"""What every server of Hayhooks sets up the same way: the main app, and ``hayhooks mcp run`` (HTTP or stdio).

``build_state`` applies the settings (logging, the extra import path) and builds the ``ServerState``: an empty
registry and its deploy service. ``start_up`` is what each server runs once it serves (the startup deploy);
``cors_options`` are the CORS middleware's options from the settings.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hayhooks import executor
from hayhooks.addresses import is_loopback
from hayhooks.deploy.service import DeployService
from hayhooks.logging_config import configure_logging
from hayhooks.registry import Registry
from hayhooks.server.state import ServerState
from hayhooks.settings import Settings, check_cors_settings

logger = logging.getLogger("hayhooks")


def _extend_python_path(settings: Settings) -> None:
    extra = settings.additional_python_path
    if extra:
        path = str(Path(extra).expanduser().resolve())
        if path not in sys.path:
            sys.path.insert(0, path)


def build_state(settings: Settings, registry: Registry | None = None) -> ServerState:
    """Logging and the extra import path applied, and the state of a server with nothing deployed yet."""
    configure_logging(settings)
    _extend_python_path(settings)
    registry = registry if registry is not None else Registry()
    return ServerState(settings=settings, registry=registry, deployer=DeployService(settings, registry))


async def start_up(state: ServerState) -> None:
    """What a server does once it serves: warn about a wide-open CORS policy, deploy the pipelines dir off the
    event loop, then mark the state ready (requests wait for it)."""
    # A warning once reachable from other machines, like the API-key one.
    check_cors_settings(state.settings, level=logging.INFO if is_loopback(state.settings.host) else logging.WARNING)
    try:
        state.startup_report = await executor.run(state.deployer.deploy_directory)
    except Exception:
        logger.exception("Startup deploy failed")
    finally:
        state.ready.set()


def cors_options(settings: Settings, *, also_expose: Sequence[str] = ()) -> dict[str, Any]:
    """Keyword arguments of ``CORSMiddleware`` (``server/middleware/cors.py``) from the settings."""
    return {
        "allow_origins": settings.cors_allow_origins,
        "allow_methods": settings.cors_allow_methods,
        "allow_headers": settings.cors_allow_headers,
        "allow_credentials": settings.cors_allow_credentials,
        "allow_origin_regex": settings.cors_allow_origin_regex,
        "expose_headers": [*settings.cors_expose_headers, *also_expose],
        "max_age": settings.cors_max_age,
    }
