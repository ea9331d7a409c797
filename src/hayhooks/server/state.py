"""Everything a request handler needs, stored once on ``app.state.hayhooks``."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from hayhooks import executor
from hayhooks.deploy.service import DeployService, StartupReport
from hayhooks.registry import DeployedPipeline, Registry
from hayhooks.settings import Settings

if TYPE_CHECKING:
    from hayhooks.durable.engine import DurableEngine


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
    # Set by the app's lifespan. Without one (a plain ``TestClient(create_app())``, an ASGI server with lifespan
    # off) the first request that needs the pipelines deploys the pipelines dir itself, see ``wait_ready``.
    lifespan_started: bool = False
    # The durable execution engine of this worker (``server/durable/``): set when the app is built.
    durable: DurableEngine | None = None
    _deploy_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def begin_startup(self) -> bool:
        """Called by a lifespan (or a server loop) that runs the startup deploy itself, before it starts it.

        Returns ``False`` when there is nothing left to deploy: a request already did it without a lifespan.
        """
        self.lifespan_started = True
        if self.ready.is_set():
            return False
        self.ready = asyncio.Event()  # bound to the loop that runs the startup deploy
        return True

    async def wait_ready(self) -> None:
        """Return once the startup deploy of the pipelines dir is done."""
        if self.ready.is_set():
            return
        if not self.lifespan_started:
            await executor.run(self.deploy_without_lifespan)
            return
        await self.ready.wait()

    def deploy_without_lifespan(self) -> None:
        """The startup deploy, run once by whichever request comes first when no lifespan runs.

        Each request of a lifespan-less client may run on an event loop of its own, so this waits on a thread
        lock (in a worker thread), never on an asyncio primitive bound to another loop.
        """
        with self._deploy_lock:
            if self.ready.is_set():
                return
            try:
                self.startup_report = self.deployer.deploy_directory()
            finally:
                self.ready.set()  # no waiters without a lifespan: safe from any thread

    async def lookup(self, name: str) -> DeployedPipeline | None:
        """The pipeline ``name``; one another worker just saved to the shared dir is loaded before a 404."""
        pipeline = self.registry.get(name)
        if pipeline is None and self.resolve_missing is not None:
            pipeline = await self.resolve_missing(name)
        return pipeline


def get_state(request: Request) -> ServerState:
    return request.app.state.hayhooks
