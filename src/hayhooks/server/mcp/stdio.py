"""``hayhooks mcp run --transport stdio``: one MCP connection over the process's stdin and stdout.

stdout carries only protocol messages: logs go to stderr, and while serving the SDK points file descriptor 1
at stderr, so a pipeline that prints cannot corrupt the stream.
"""

from __future__ import annotations

import contextlib
import sys

import anyio
from mcp.server.stdio import stdio_server

from hayhooks.server.bootstrap import build_state, start_up
from hayhooks.server.mcp.sdk import MODERN
from hayhooks.server.mcp.server import create_mcp_service
from hayhooks.settings import Settings


async def serve_stdio(settings: Settings) -> None:
    state = build_state(settings)
    state.begin_startup()
    service = create_mcp_service(state)
    server = service.server
    async with service.running(), stdio_server() as (read_stream, write_stream):
        # SDK 2.x diverts file descriptor 1 itself; with 1.x, Python-level prints go to stderr (the transport
        # keeps writing to the stdout it took when it started).
        quiet = contextlib.nullcontext() if MODERN else contextlib.redirect_stdout(sys.stderr)
        with quiet:
            async with anyio.create_task_group() as tg:
                tg.start_soon(start_up, state)
                await server.run(read_stream, write_stream, server.create_initialization_options())
                tg.cancel_scope.cancel()


def run_stdio(settings: Settings) -> None:
    anyio.run(serve_stdio, settings)
