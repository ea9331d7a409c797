"""The low-level MCP ``Server`` for one ``ServerState``: dynamic tool list, tool calls, change notifications.

The same ``MCPService`` is shared by every transport of a process (Streamable HTTP, SSE, stdio), and by the
main server when it mounts MCP, so all of them see one registry. Works with the ``mcp`` SDK 1.x and 2.x
(``sdk``): the handlers are the same, only the way they are attached to the server differs.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from mcp import types
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.models import InitializationOptions

from hayhooks.server.mcp import serving, tools
from hayhooks.server.mcp.notifier import ToolListNotifier
from hayhooks.server.mcp.sdk import MODERN, protocol_error
from hayhooks.server.state import ServerState
from hayhooks.version import __version__

INSTRUCTIONS = (
    "Hayhooks serves Haystack pipelines. Every deployed pipeline is a tool named after the pipeline; "
    "get_all_pipeline_statuses, get_pipeline_status, deploy_pipeline and undeploy_pipeline manage them."
)


class HayhooksMCPServer(Server):
    """Advertises ``tools.listChanged`` to handshake-era clients on every transport.

    The Streamable HTTP session manager builds initialization options without arguments, so the default
    has to say that the tool list changes.
    """

    def create_initialization_options(
        self, notification_options: NotificationOptions | None = None, *args: Any, **kwargs: Any
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(tools_changed=True), *args, **kwargs
        )


@dataclass
class MCPService:
    state: ServerState
    notifier: ToolListNotifier
    listen: Any  # 2.x: the ``subscriptions/listen`` handler; 1.x has no such method (None)
    server: HayhooksMCPServer

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Forward tool list changes to clients; on exit, end the open listen streams gracefully."""
        async with self.notifier.running():
            try:
                yield
            finally:
                if self.listen is not None:
                    self.listen.close()


def create_mcp_service(state: ServerState, *, changes_need_admin: bool = False) -> MCPService:
    """The MCP server for ``state``; ``changes_need_admin`` when API keys guard the hosting app."""
    notifier = ToolListNotifier(state.registry, lambda: state.ready.is_set())

    async def list_tools() -> types.ListToolsResult:
        await state.wait_ready()
        return types.ListToolsResult(tools=tools.list_tools(state.registry))

    async def call_tool(name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        try:
            return await serving.call_tool(state, name, arguments or {}, changes_need_admin=changes_need_admin)
        except serving.UnknownToolError as exc:
            raise protocol_error(types.INVALID_PARAMS, str(exc)) from None

    build = _modern_server if MODERN else _classic_server
    server, listen = build(state, notifier, list_tools, call_tool)
    return MCPService(state=state, notifier=notifier, listen=listen, server=server)


def _modern_server(state: ServerState, notifier: ToolListNotifier, list_tools: Any, call_tool: Any) -> tuple:
    """SDK 2.x: handlers given to the constructor; 2026-07-28 clients listen through ``subscriptions/listen``."""
    from mcp.server.subscriptions import ListenHandler

    listen = ListenHandler(notifier.bus)

    async def on_list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return await list_tools()

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        return await call_tool(params.name, params.arguments)

    async def on_initialized(ctx: Any, params: types.NotificationParams) -> None:
        notifier.track(ctx.session)

    server = HayhooksMCPServer(
        "hayhooks",
        version=__version__,
        title="Hayhooks",
        instructions=INSTRUCTIONS,
        get_tool_input_schema=lambda name: tools.input_schema(state.registry, name),
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
        on_subscriptions_listen=listen,
    )
    server.add_notification_handler("notifications/initialized", types.NotificationParams, on_initialized)
    return server, listen


def _classic_server(state: ServerState, notifier: ToolListNotifier, list_tools: Any, call_tool: Any) -> tuple:
    """SDK 1.x: request handlers by request type. They are attached directly (not through the SDK's
    ``call_tool`` decorator, which turns every exception into a tool error and validates against a cached
    tool list): an unknown tool stays a protocol error and a just-deployed tool is found at once.
    A connection is tracked for change notifications from its first request."""
    server = HayhooksMCPServer("hayhooks", version=__version__, instructions=INSTRUCTIONS)
    tracked: weakref.WeakSet[Any] = weakref.WeakSet()

    def track() -> None:
        with contextlib.suppress(LookupError):
            session = server.request_context.session
            if session not in tracked:
                tracked.add(session)
                notifier.track(session)

    async def on_list_tools(request: types.ListToolsRequest) -> types.ServerResult:
        track()
        return types.ServerResult(await list_tools())

    async def on_call_tool(request: types.CallToolRequest) -> types.ServerResult:
        track()
        return types.ServerResult(await call_tool(request.params.name, request.params.arguments))

    server.request_handlers[types.ListToolsRequest] = on_list_tools
    server.request_handlers[types.CallToolRequest] = on_call_tool
    return server, None
