"""Everything a request handler needs, stored once on ``app.state.hayhooks``."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from hayhooks.deploy.service import DeployService, StartupReport
from hayhooks.registry import DeployedPipeline, Registry
from hayhooks.settings import Settings


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# Entered in the app's lifespan, in order, around the time the app serves (the app is passed in).
LifespanHook = Callable[[Any], AbstractAsyncContextManager[None]]


@dataclass
class ServerState:
    settings: Settings
    registry: Registry
    deployer: DeployService
    worker: str = field(default_factory=worker_id)
    startup_report: StartupReport | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # What runs beside the app while it serves: metrics, MCP sessions, the pipelines-dir watcher.
    lifespan_hooks: list[LifespanHook] = field(default_factory=list)
    # Set by the pipelines-dir watcher: loads a name that is on disk but not (yet) deployed in this worker.
    resolve_missing: Callable[[str], Awaitable[DeployedPipeline | None]] | None = None

    async def wait_ready(self) -> None:
        if not self.ready.is_set():
            await self.ready.wait()

    async def lookup(self, name: str) -> DeployedPipeline | None:
        """The pipeline ``name``; one another worker just saved to the shared dir is loaded before a 404."""
        pipeline = self.registry.get(name)
        if pipeline is None and self.resolve_missing is not None:
            pipeline = await self.resolve_missing(name)
        return pipeline


def get_state(request: Request) -> ServerState:
    return request.app.state.hayhooks
