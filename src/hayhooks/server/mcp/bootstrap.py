"""What ``hayhooks mcp run`` sets up before serving: settings applied, registry, deploy of the pipelines dir."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from hayhooks import executor
from hayhooks.deploy.service import DeployService
from hayhooks.logging_config import configure_logging
from hayhooks.registry import Registry
from hayhooks.server.state import ServerState
from hayhooks.settings import Settings

logger = logging.getLogger("hayhooks.mcp")


def build_state(settings: Settings) -> ServerState:
    """Logging (always to stderr), the extra import path, and an empty registry with its deploy service."""
    configure_logging(settings)
    if settings.additional_python_path:
        path = str(Path(settings.additional_python_path).expanduser().resolve())
        if path not in sys.path:
            sys.path.insert(0, path)
    registry = Registry()
    return ServerState(settings=settings, registry=registry, deployer=DeployService(settings, registry))


async def deploy_pipelines_dir(state: ServerState) -> None:
    """Deploy the pipelines dir on a worker thread, then mark the state ready (tool calls wait for it)."""
    try:
        state.startup_report = await executor.run(state.deployer.deploy_directory)
    except Exception:
        logger.exception("Startup deploy failed")
    finally:
        state.ready.set()
