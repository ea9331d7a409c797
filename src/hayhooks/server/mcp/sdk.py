"""The few places where the ``mcp`` SDK's 1.x and 2.x lines differ, in one module.

The ``mcp`` extra accepts both: 1.x is what Hayhooks 2.1.0 and Haystack's MCP integration pin, 2.x is the
current line. Everything else in ``hayhooks.server.mcp`` is written against what both provide: wire types
are built with their protocol (camelCase) field names, which both accept.
"""

from __future__ import annotations

import logging
from importlib.metadata import version
from typing import Any

from anyio import ClosedResourceError
from mcp import types

SDK_MAJOR = int(version("mcp").split(".", 1)[0])
MODERN = SDK_MAJOR >= 2


def protocol_error(code: int, message: str) -> Exception:
    """The exception a request handler raises to answer with a JSON-RPC error (not a tool error result)."""
    if MODERN:
        from mcp.shared.exceptions import MCPError

        return MCPError(code=code, message=message)
    from mcp.shared.exceptions import McpError

    return McpError(types.ErrorData(code=code, message=message))


def input_schema_of(tool: types.Tool) -> dict[str, Any]:
    return tool.input_schema if MODERN else tool.inputSchema  # type: ignore[attr-defined]


class StreamableHTTPApp:
    """The ASGI app serving a ``StreamableHTTPSessionManager`` (its entry point was renamed in 2.x).

    An instance, not a function: Starlette's ``Route`` treats a plain function as a request handler.
    """

    def __init__(self, manager: Any) -> None:
        self._handle = manager.asgi_app if MODERN else manager.handle_request

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._handle(scope, receive, send)


class _ClosedStandaloneStreamFilter(logging.Filter):
    """SDK 1.x logs a traceback ("Error in standalone SSE writer") whenever a Streamable HTTP client ends
    its session while its GET stream is open: a normal disconnect, nothing for the operator to act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (record.getMessage() == "Error in standalone SSE writer" and isinstance(error, ClosedResourceError))


if not MODERN:
    logging.getLogger("mcp.server.streamable_http").addFilter(_ClosedStandaloneStreamFilter())
