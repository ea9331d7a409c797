"""``hayhooks mcp run`` over HTTP: a small Starlette app with ``/mcp``, ``/sse`` and ``GET /status``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hayhooks.server.bootstrap import build_state, cors_options, start_up
from hayhooks.server.mcp.server import create_mcp_service
from hayhooks.server.mcp.transport import HTTPTransports
from hayhooks.server.middleware.cors import CORSMiddleware
from hayhooks.settings import Settings


async def status(request: Request) -> JSONResponse:
    """Health check: answers as soon as the server is up, whatever is deployed."""
    return JSONResponse({"status": "ok"})


def create_mcp_app(settings: Settings, *, json_response: bool = False, debug: bool = False) -> Starlette:
    """``json_response``: Streamable HTTP answers with one JSON body instead of an SSE stream."""
    state = build_state(settings)
    service = create_mcp_service(state)
    transports = HTTPTransports(service, bind_host=settings.mcp_host, json_response=json_response)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.begin_startup()
        startup = asyncio.create_task(start_up(state))
        async with transports.running():
            try:
                yield
            finally:
                startup.cancel()

    app = Starlette(
        routes=[Route("/status", status, methods=["GET"]), *transports.routes()],
        # Browser clients must read the session id to continue a Streamable HTTP session.
        middleware=[Middleware(CORSMiddleware, **cors_options(settings, also_expose=["Mcp-Session-Id"]))],
        lifespan=lifespan,
        debug=debug,
    )
    app.state.hayhooks = state
    app.state.mcp_service = service
    return app


def serve_http(settings: Settings, *, json_response: bool = False, debug: bool = False) -> None:
    uvicorn.run(
        create_mcp_app(settings, json_response=json_response, debug=debug),
        host=settings.mcp_host,
        port=settings.mcp_port,
        log_config=None,
        timeout_graceful_shutdown=settings.graceful_shutdown_timeout,
    )
