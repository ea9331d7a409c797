"""MCP on the main server (``HAYHOOKS_SERVE_MCP=true``): same process, same registry, same port.

The transports are added as ordinary routes of the FastAPI app, so app-level middleware (CORS,
authentication, limits) covers ``/mcp`` and ``/sse`` too; the session manager runs in the app's lifespan.
With API keys configured, the deploy and undeploy tools need an admin key, like their HTTP routes.
"""

from __future__ import annotations

from fastapi import FastAPI

from hayhooks.server.mcp import INSTALL_HINT, mcp_available
from hayhooks.server.state import ServerState


class MCPUnavailableError(RuntimeError):
    """``HAYHOOKS_SERVE_MCP`` is on but the ``mcp`` package is not installed."""


def mount_mcp(app: FastAPI, state: ServerState) -> None:
    if not mcp_available():
        raise MCPUnavailableError(f"HAYHOOKS_SERVE_MCP=true: {INSTALL_HINT}")
    from hayhooks.server.mcp.access import api_keys_configured
    from hayhooks.server.mcp.server import create_mcp_service
    from hayhooks.server.mcp.transport import HTTPTransports

    service = create_mcp_service(state, changes_need_admin=api_keys_configured(state.settings))
    transports = HTTPTransports(service, bind_host=state.settings.host, stateless=state.settings.workers > 1)
    app.router.routes.extend(transports.routes())
    state.lifespan_hooks.append(lambda _app: transports.running())
