"""Idle workers take over the accept queue of a blocked sibling, so no new connection waits for a stuck worker.

With one ``SO_REUSEPORT`` socket per worker (``sockets.py``), the kernel hashes each new connection onto a socket
whether or not its worker can accept: while a worker's event loop is blocked (an ``async def`` wrapper method that
calls blocking code, a long ``gc`` pause), every connection hashed to its socket would wait for it. So:

- every worker beats its slot's heartbeat every ``BEAT_INTERVAL`` seconds from a task on its event loop
  (``heartbeats.py``); a blocked loop stops beating;
- the same task reads its siblings' heartbeats; when one is older than ``STALE_AFTER``, the worker starts
  accepting on that sibling's socket too (a duplicate of the socket it inherited), and stops once the sibling beats
  again (younger than ``FRESH_WITHIN``). A dead worker stops beating as well, so its socket is served until the
  supervisor's replacement takes the slot; so is a slot whose worker is still starting.

Both workers accepting on one socket is harmless (each connection is accepted once). A connection the blocked
worker accepted before it blocked stays with it. Keep-alive clients keep the connections they have, so steady
load keeps its balance; only new connections move, and only while a sibling is stuck.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
from typing import Any

import uvicorn

from hayhooks.process.heartbeats import Heartbeats
from hayhooks.process.sockets import WorkerSockets

logger = logging.getLogger("uvicorn.error")

BEAT_INTERVAL = 0.05  # seconds between two beats of a worker's event loop
STALE_AFTER = 0.2  # a sibling silent this long is taken over ...
FRESH_WITHIN = 0.1  # ... until it beats again within this


class Failover:
    """One worker's heartbeat, and the sibling sockets it serves while their workers do not beat."""

    def __init__(self, sockets: WorkerSockets, protocol_factory: Any, *, config: uvicorn.Config) -> None:
        assert sockets.slot is not None
        self.slot = sockets.slot
        self.siblings = sockets.siblings
        self.heartbeats = Heartbeats(sockets.slots_dir, len(sockets.siblings) + 1)
        self.protocol_factory = protocol_factory
        self.config = config
        self.serving: dict[int, asyncio.AbstractServer] = {}  # sibling slot -> the server accepting on its socket

    async def run(self) -> None:
        """Beat, and follow the siblings, until cancelled."""
        try:
            while True:
                self.heartbeats.beat(self.slot)
                for index, sock in self.siblings.items():
                    try:
                        await self._follow(index, sock)
                    except OSError as exc:  # e.g. out of file descriptors: keep beating, try again next time
                        logger.warning("Worker [%d] could not accept on socket %d: %s", os.getpid(), index + 1, exc)
                await asyncio.sleep(BEAT_INTERVAL)
        finally:
            self.release_all()
            self.heartbeats.close()

    async def _follow(self, index: int, sock: socket.socket) -> None:
        age = self.heartbeats.age(index)
        if index not in self.serving and age > STALE_AFTER:
            self.serving[index] = await asyncio.get_running_loop().create_server(
                self.protocol_factory, sock=sock.dup(), ssl=self.config.ssl, backlog=self.config.backlog
            )
            logger.debug("Worker [%d] accepts on socket %d too (its worker is silent)", os.getpid(), index + 1)
        elif index in self.serving and age < FRESH_WITHIN:
            self.serving.pop(index).close()
            logger.debug("Worker [%d] leaves socket %d to its worker again", os.getpid(), index + 1)

    def release_all(self) -> None:
        """Stop accepting on every sibling socket (their connections already accepted are left to finish)."""
        for server in self.serving.values():
            server.close()
        self.serving.clear()


class FailoverServer(uvicorn.Server):
    """uvicorn's server, plus the failover task while it serves (in a worker that claimed a socket slot)."""

    _failover: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.started or not isinstance(sockets, WorkerSockets) or sockets.slot is None:
            return  # a worker listening on every socket (during a restart) has nothing to take over
        # The same protocol uvicorn's own listeners build, so taken-over connections are drained on shutdown too.
        protocol_factory = functools.partial(
            self.config.http_protocol_class,
            config=self.config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
        )
        failover = Failover(sockets, protocol_factory, config=self.config)
        self._failover = asyncio.create_task(failover.run(), name="hayhooks-failover")

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._failover is not None:
            self._failover.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._failover
        await super().shutdown(sockets=sockets)
