"""Application factory: settings -> registry -> deploy service -> FastAPI app with a fixed set of routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from hayhooks import executor
from hayhooks.process import gc_tuning
from hayhooks.registry import Registry
from hayhooks.server import health
from hayhooks.server.admin.api_router import router as admin_router
from hayhooks.server.bootstrap import build_state, cors_options, start_up
from hayhooks.server.durable.api_router import router as durable_router
from hayhooks.server.durable.openai_background import router as background_router
from hayhooks.server.durable.serving import install_durable
from hayhooks.server.errors import install_error_handlers
from hayhooks.server.hardening import install_hardening
from hayhooks.server.middleware.cors import CORSMiddleware
from hayhooks.server.openai.api_router import router as openai_router
from hayhooks.server.openapi import install_openapi
from hayhooks.server.routing import HayhooksApp
from hayhooks.server.run.api_router import routes as run_routes
from hayhooks.server.state import ServerState
from hayhooks.server.watching import watch_pipelines_dir
from hayhooks.server.worker_header import WorkerHeaderMiddleware
from hayhooks.settings import Settings, get_settings
from hayhooks.version import __version__

logger = logging.getLogger("hayhooks")


# The full collection after startup holds the GIL for 100 ms or more: requests that waited for readiness go first.
SETTLE_DELAY = 0.1


async def _startup_deploy(state: ServerState) -> None:
    await start_up(state)
    try:
        await asyncio.sleep(SETTLE_DELAY)
        await executor.run(gc_tuning.startup_finished)  # the process-level "startup finished" hook
    finally:
        gc_tuning.restore()  # cancelled (shutdown during the delay): still collect as configured
    state.registry.subscribe(gc_tuning.freeze_after_deploy)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServerState = app.state.hayhooks
    deploy = state.begin_startup()  # False: a request already deployed the dir without a lifespan (see wait_ready)
    startup = asyncio.create_task(_startup_deploy(state) if deploy else asyncio.sleep(0))
    async with contextlib.AsyncExitStack() as stack:
        for hook in state.lifespan_hooks:
            await stack.enter_async_context(hook(app))
        try:
            yield
        finally:
            if not startup.done():
                startup.cancel()


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> FastAPI:
    """Build the server. Pipelines in ``settings.pipelines_dir`` are deployed when the app starts.

    With no arguments (as uvicorn's ``--factory`` calls it in each worker), settings come from the environment.
    """
    settings = settings or get_settings()
    state = build_state(settings, registry)
    app = HayhooksApp(
        title="Hayhooks",
        version=__version__,
        description="Haystack pipelines served as REST APIs, OpenAI-compatible endpoints and MCP tools.",
        servers=[{"url": settings.root_path}] if settings.root_path else None,
        lifespan=lifespan,
        show_tracebacks=settings.show_tracebacks,
    )
    app.root_path = settings.root_path  # set here, not as FastAPI(root_path=...), which warns it is deprecated
    app.state.hayhooks = state
    install_error_handlers(app, settings.show_tracebacks)
    app.include_router(health.router)
    app.include_router(admin_router)
    app.include_router(openai_router)
    app.include_router(durable_router)
    app.include_router(background_router)
    install_durable(app, state)
    app.router.routes.extend(run_routes)
    if settings.serve_mcp:  # MCP is an optional extra: import it only when asked for
        from hayhooks.server.mcp.mount import mount_mcp

        mount_mcp(app, state)
    install_hardening(app, state)  # auth, limits, request ids, metrics: before CORS, which must stay outside
    app.add_middleware(CORSMiddleware, **cors_options(settings))
    app.add_middleware(WorkerHeaderMiddleware, worker=state.worker)
    if settings.watch_pipelines_dir:  # hot reload: each worker follows the pipelines dir
        state.lifespan_hooks.append(watch_pipelines_dir(state))
    # app.openapi() and GET /openapi.json, cached per routes/pipeline version
    install_openapi(app, state.registry, state.wait_ready)
    return app


# --- Hayhooks 2.1.0 module names: `uvicorn hayhooks.server.app:app`, `from hayhooks.server.app import run_app` ---
def __getattr__(name: str) -> object:
    from hayhooks.server.module_app import lazy_attribute

    return lazy_attribute(name, create_app)


def __dir__() -> list[str]:
    from hayhooks.server.module_app import LAZY_NAMES

    return sorted({*globals(), *LAZY_NAMES})
