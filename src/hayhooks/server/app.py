"""Application factory: settings -> registry -> deploy service -> FastAPI app with a fixed set of routes."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from anyio import to_thread
from fastapi import FastAPI

from hayhooks.deploy import watcher as pipelines_watcher
from hayhooks.deploy.service import DeployService
from hayhooks.logging_config import configure_logging
from hayhooks.registry import Registry
from hayhooks.server import health, heap, startup_gc
from hayhooks.server.admin.api_router import router as admin_router
from hayhooks.server.dispatch import HayhooksApp
from hayhooks.server.durable.api_router import HOT_SUFFIX_ENDPOINTS as DURABLE_HOT_ENDPOINTS
from hayhooks.server.durable.api_router import router as durable_router
from hayhooks.server.durable.openai_background import router as background_router
from hayhooks.server.durable.serving import install_durable
from hayhooks.server.errors import install_error_handlers
from hayhooks.server.hardening import install_hardening
from hayhooks.server.middleware.cors import CORSMiddleware
from hayhooks.server.openai.api_router import HOT_ENDPOINTS as OPENAI_HOT_ENDPOINTS
from hayhooks.server.openai.api_router import router as openai_router
from hayhooks.server.openapi import install_openapi
from hayhooks.server.run.api_router import routes as run_routes
from hayhooks.server.run.api_router import run_pipeline
from hayhooks.server.state import ServerState
from hayhooks.server.worker_header import WorkerHeaderMiddleware
from hayhooks.settings import Settings, get_settings
from hayhooks.version import __version__

logger = logging.getLogger("hayhooks")


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _extend_python_path(settings: Settings) -> None:
    extra = settings.additional_python_path
    if extra:
        path = str(Path(extra).expanduser().resolve())
        if path not in sys.path:
            sys.path.insert(0, path)


# The full collection after startup holds the GIL for 100 ms or more: requests that waited for readiness go first.
SETTLE_DELAY = 0.1


async def _startup_deploy(state: ServerState) -> None:
    try:
        state.startup_report = await to_thread.run_sync(state.deployer.deploy_directory)
    except Exception:
        logger.exception("Startup deploy failed")
    finally:
        state.ready.set()
    try:
        await asyncio.sleep(SETTLE_DELAY)
        await to_thread.run_sync(heap.settle_after_startup)
    finally:
        startup_gc.restore()
    state.registry.subscribe(heap.freeze_after_deploy)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServerState = app.state.hayhooks
    state.ready = asyncio.Event()
    if state.settings.cors_is_wide_open:
        logger.warning("CORS allows every origin, method and header; set HAYHOOKS_CORS_ALLOW_ORIGINS in production.")
    startup = asyncio.create_task(_startup_deploy(state))
    hooks = state.extras.get("lifespan_hooks", [])
    async with contextlib.AsyncExitStack() as stack:
        for hook in hooks:
            await stack.enter_async_context(hook(app))
        try:
            yield
        finally:
            if not startup.done():
                startup.cancel()


def _add_cors(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allow_origins,
        allow_methods=settings.cors_allow_methods,
        allow_headers=settings.cors_allow_headers,
        allow_credentials=settings.cors_allow_credentials,
        allow_origin_regex=settings.cors_allow_origin_regex,
        expose_headers=settings.cors_expose_headers,
        max_age=settings.cors_max_age,
    )


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> FastAPI:
    """Build the server. Pipelines in ``settings.pipelines_dir`` are deployed when the app starts."""
    settings = settings or get_settings()
    configure_logging(settings)
    _extend_python_path(settings)
    registry = registry or Registry()
    state = ServerState(settings=settings, registry=registry, deployer=DeployService(settings, registry))
    app = HayhooksApp(
        title="Hayhooks",
        version=__version__,
        description="Haystack pipelines served as REST APIs, OpenAI-compatible endpoints and MCP tools.",
        root_path=settings.root_path,
        servers=[{"url": settings.root_path}] if settings.root_path else None,
        lifespan=lifespan,
    )
    app.state.hayhooks = state
    install_error_handlers(app, settings.show_tracebacks)
    app.include_router(health.router)
    app.include_router(admin_router)
    app.include_router(openai_router)
    app.include_router(durable_router)
    app.include_router(background_router)
    install_durable(app, state)
    app.router.routes.extend(run_routes)  # kept for 405s and url_for; the run itself is dispatched early
    app.run_endpoint, app.show_tracebacks = run_pipeline, settings.show_tracebacks
    app.hot_endpoints = dict(OPENAI_HOT_ENDPOINTS)
    app.hot_suffix_endpoints = dict(DURABLE_HOT_ENDPOINTS)
    if settings.serve_mcp:  # MCP is an optional extra: import it only when asked for
        from hayhooks.server.mcp.mount import mount_mcp

        mount_mcp(app, state)
    install_hardening(app, state)  # auth, limits, request ids, metrics: before CORS, which must stay outside
    _add_cors(app, settings)
    app.add_middleware(WorkerHeaderMiddleware, worker=state.worker)
    if settings.watch_pipelines_dir:  # hot reload: each worker follows the pipelines dir
        state.extras.setdefault("lifespan_hooks", []).append(pipelines_watcher.lifespan_hook(state))
    install_openapi(app, registry)  # app.openapi() and GET /openapi.json, cached per routes/pipeline version
    return app


def create_app_from_env() -> FastAPI:
    """Entry point for uvicorn workers (``--factory``): settings come from the environment."""
    return create_app()
