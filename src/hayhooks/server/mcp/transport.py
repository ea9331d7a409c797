"""HTTP transports of the MCP server: Streamable HTTP at ``/mcp`` and legacy SSE at ``/sse``.

``HTTPTransports.routes()`` are plain Starlette routes, so they can live in the standalone MCP app or inside
the main FastAPI app (where its middleware, e.g. authentication, applies to them like to any route).
``HTTPTransports.running()`` must be entered in the hosting app's lifespan.

When the server binds a loopback address, requests must carry a local ``Host`` (and a local or CORS-allowed
``Origin``): this blocks DNS-rebinding attacks from web pages against a server on a developer machine.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from hayhooks.addresses import is_loopback
from hayhooks.server.mcp.sdk import StreamableHTTPApp
from hayhooks.server.mcp.server import HayhooksMCPServer, MCPService
from hayhooks.settings import Settings

logger = logging.getLogger("hayhooks.mcp")

STREAMABLE_HTTP_PATH = "/mcp"
SSE_PATH = "/sse"
SSE_MESSAGES_PATH = "/messages/"

_LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")


def security_settings(settings: Settings, bind_host: str) -> TransportSecuritySettings | None:
    """DNS-rebinding protection for loopback binds; ``None`` (no Host/Origin checks) otherwise."""
    if not is_loopback(bind_host):
        return None
    cors_origins = [origin for origin in settings.cors_allow_origins if origin != "*"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*_LOCAL_NAMES, *(f"{name}:*" for name in _LOCAL_NAMES)],
        allowed_origins=[*(f"http://{name}{port}" for name in _LOCAL_NAMES for port in ("", ":*")), *cors_origins],
    )


class SSEEndpoint:
    """``GET /sse``: one MCP connection per open event stream; the client posts to ``/messages/``."""

    def __init__(self, transport: SseServerTransport, server: HayhooksMCPServer) -> None:
        self.transport = transport
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with self.transport.connect_sse(scope, receive, send) as (read_stream, write_stream):
                await self.server.run(read_stream, write_stream, self.server.create_initialization_options())
        except ValueError as exc:  # connect_sse has already answered a rejected request (bad Host/Origin)
            logger.debug("SSE connection refused: %s", exc)


class HTTPTransports:
    def __init__(
        self, service: MCPService, *, bind_host: str, stateless: bool = False, json_response: bool = False
    ) -> None:
        settings = service.state.settings
        security = security_settings(settings, bind_host)
        max_body = int(settings.max_request_body_mb * 1024 * 1024)
        self.service = service
        # Stateless when several workers share a port: a session started on one worker is unknown to the others.
        self.session_manager = StreamableHTTPSessionManager(
            app=service.server,
            stateless=stateless,
            json_response=json_response,
            security_settings=security,
            max_request_body_size=max_body,
        )
        self.sse = SseServerTransport(SSE_MESSAGES_PATH, security_settings=security, max_request_body_size=max_body)

    def routes(self) -> list[BaseRoute]:
        return [
            Route(STREAMABLE_HTTP_PATH, StreamableHTTPApp(self.session_manager), include_in_schema=False),
            Route(SSE_PATH, SSEEndpoint(self.sse, self.service.server), methods=["GET"], include_in_schema=False),
            Mount(SSE_MESSAGES_PATH.rstrip("/"), app=self.sse.handle_post_message),
        ]

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self.service.running(), self.session_manager.run():
            yield
