"""Hot reload in the server: one pipelines-dir watcher per worker, for as long as the app runs.

The watcher (``deploy/watcher.py``) knows nothing of the server; this lifespan hook starts it once the startup
deploy has loaded the dir, and lets lookups of names this worker lacks ask it (``ServerState.resolve_missing``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from hayhooks.deploy.watcher import PipelineWatcher
from hayhooks.server.state import LifespanHook, ServerState


async def _start_when_ready(watcher: PipelineWatcher, state: ServerState) -> None:
    await state.wait_ready()  # the startup deploy has loaded the dir; the watcher takes over from there
    watcher.start()


def watch_pipelines_dir(state: ServerState) -> LifespanHook:
    """A lifespan hook that runs a watcher in this worker for as long as the app runs."""

    @contextlib.asynccontextmanager
    async def watching(_app: Any) -> AsyncIterator[None]:
        watcher = PipelineWatcher(state.deployer, rescan_interval=state.settings.pipelines_rescan_interval)
        state.resolve_missing = watcher.resolve_missing
        starter = asyncio.create_task(_start_when_ready(watcher, state))
        try:
            yield
        finally:
            state.resolve_missing = None
            starter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starter
            await watcher.aclose()

    return watching
