"""Everything a request handler needs, stored once on ``app.state.hayhooks``."""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from hayhooks.deploy.service import DeployService, StartupReport
from hayhooks.registry import Registry
from hayhooks.settings import Settings


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class ServerState:
    settings: Settings
    registry: Registry
    deployer: DeployService
    worker: str = field(default_factory=worker_id)
    startup_report: StartupReport | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    extras: dict[str, Any] = field(default_factory=dict)

    async def wait_ready(self) -> None:
        if not self.ready.is_set():
            await self.ready.wait()


def get_state(request: Request) -> ServerState:
    return request.app.state.hayhooks
