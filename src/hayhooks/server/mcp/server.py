"""The low-level MCP ``Server`` for one ``ServerState``: dynamic tool list, tool calls, change notifications.

The same ``MCPService`` is shared by every transport of a process (Streamable HTTP, SSE, stdio), and by the
main server when it mounts MCP, so all of them see one registry.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from mcp import types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.server.subscriptions import ListenHandler
from mcp.shared.exceptions import MCPError

from hayhooks.server.mcp import serving, tools
from hayhooks.server.mcp.notifier import ToolListNotifier
from hayhooks.server.state import ServerState
from hayhooks.version import __version__

INSTRUCTIONS = (
    "Hayhooks serves Haystack pipelines. Every deployed pipeline is a tool named after the pipeline; "
    "get_all_pipeline_statuses, get_pipeline_status, deploy_pipeline and undeploy_pipeline manage them."
)


class HayhooksMCPServer(Server[Any]):
    """Advertises ``tools.listChanged`` to handshake-era clients on every transport.

    The Streamable HTTP session manager builds initialization options without arguments, so the default
    has to say that the tool list changes.
    """

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(tools_changed=True), experimental_capabilities, extensions
        )


@dataclass
class MCPService:
    state: ServerState
    notifier: ToolListNotifier
    listen: ListenHandler
    server: HayhooksMCPServer

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Forward tool list changes to clients; on exit, end the open listen streams gracefully."""
        async with self.notifier.running():
            try:
                yield
            finally:
                self.listen.close()


def create_mcp_service(state: ServerState, *, changes_need_admin: bool = False) -> MCPService:
    """The MCP server for ``state``; ``changes_need_admin`` when API keys guard the hosting app."""
    notifier = ToolListNotifier(state.registry, lambda: state.ready.is_set())
    listen = ListenHandler(notifier.bus)

    async def list_tools(
        ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        await state.wait_ready()
        return types.ListToolsResult(tools=tools.list_tools(state.registry))

    async def call_tool(ctx: ServerRequestContext, params: types.CallToolRequestParams) -> types.CallToolResult:
        try:
            return await serving.call_tool(
                state, params.name, params.arguments or {}, changes_need_admin=changes_need_admin
            )
        except serving.UnknownToolError as exc:
            raise MCPError(code=types.INVALID_PARAMS, message=str(exc)) from None

    async def on_initialized(ctx: ServerRequestContext, params: types.NotificationParams) -> None:
        notifier.track(ctx.session)

    server = HayhooksMCPServer(
        "hayhooks",
        version=__version__,
        title="Hayhooks",
        instructions=INSTRUCTIONS,
        get_tool_input_schema=lambda name: tools.input_schema(state.registry, name),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_subscriptions_listen=listen,
    )
    server.add_notification_handler("notifications/initialized", types.NotificationParams, on_initialized)
    return MCPService(state=state, notifier=notifier, listen=listen, server=server)
