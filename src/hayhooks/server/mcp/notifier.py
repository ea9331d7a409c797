"""Tells connected MCP clients that the tool list changed, after every deploy and undeploy.

Two kinds of clients listen, depending on the protocol era they negotiated:

- 2026-07-28 clients open a ``subscriptions/listen`` stream; they are reached through the subscription bus.
- Handshake-era clients (``initialize``) get ``notifications/tools/list_changed`` on their connection's
  standalone channel (the GET stream of Streamable HTTP, the SSE stream, stdout for stdio). They are tracked
  from their ``notifications/initialized`` until their connection closes.

The registry calls listeners synchronously on whichever thread deployed, so the listener only wakes the
event loop; one broadcast task then notifies everyone. A burst of deploys coalesces into few notifications,
and the startup deploy sends none: ``tools/list`` waits for it, so no client has seen a list without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from mcp.server.session import ServerSession

from hayhooks.registry import Registry
from hayhooks.server.mcp.sdk import MODERN

logger = logging.getLogger("hayhooks.mcp")

# A client that stops reading must not hold up the others.
SEND_TIMEOUT_SECONDS = 5.0


class ToolListNotifier:
    def __init__(self, registry: Registry, is_ready: Callable[[], bool]) -> None:
        self.registry = registry
        self.is_ready = is_ready
        self.bus: Any = None  # subscriptions/listen exists from SDK 2.x on
        if MODERN:
            from mcp.server.subscriptions import InMemorySubscriptionBus

            self.bus = InMemorySubscriptionBus()
        self._sessions: dict[object, ServerSession] = {}

    # --- handshake-era connections ---------------------------------------------------------------------------
    def track(self, session: ServerSession) -> None:
        """Remember a handshake-era connection until it closes (or a send to it fails)."""
        key = object()
        self._sessions[key] = session
        # The SDK gives handlers no public handle on the connection; its exit stack is the one place that
        # knows when the connection ends. Without it, dead sessions are dropped when a send to them fails.
        connection: Any = getattr(session, "_connection", None)
        exit_stack = getattr(connection, "exit_stack", None)
        if isinstance(exit_stack, contextlib.AsyncExitStack):
            exit_stack.callback(self._sessions.pop, key, None)

    @property
    def tracked_sessions(self) -> int:
        return len(self._sessions)

    async def _notify_session(self, key: object, session: ServerSession) -> None:
        try:
            with anyio.fail_after(SEND_TIMEOUT_SECONDS):
                await session.send_tool_list_changed()
        except Exception as exc:  # closed, broken or stuck connection: forget it
            logger.debug("Dropping MCP session after failed list_changed notification: %r", exc)
            self._sessions.pop(key, None)

    # --- broadcasting --------------------------------------------------------------------------------------
    async def broadcast(self) -> None:
        if self.bus is not None:
            from mcp.server.subscriptions import ToolsListChanged

            await self.bus.publish(ToolsListChanged())
        sessions = list(self._sessions.items())
        if sessions:
            async with anyio.create_task_group() as tg:
                for key, session in sessions:
                    tg.start_soon(self._notify_session, key, session)

    async def _broadcast_forever(self, wake: asyncio.Event) -> None:
        while True:
            await wake.wait()
            wake.clear()
            try:
                await self.broadcast()
            except Exception:
                logger.exception("Could not notify MCP clients of a tool list change")

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ToolListNotifier]:
        """Forward registry changes to clients while the context is open (on the serving event loop)."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def on_registry_change(event: str, name: str) -> None:
            if not self.is_ready():  # the startup deploy
                return
            with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
                loop.call_soon_threadsafe(wake.set)

        unsubscribe = self.registry.subscribe(on_registry_change)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._broadcast_forever, wake)
                try:
                    yield self
                finally:
                    tg.cancel_scope.cancel()
        finally:
            unsubscribe()
