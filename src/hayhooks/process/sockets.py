"""One listening socket per worker, all on the same address (``SO_REUSEPORT``), so connections spread over workers.

uvicorn's own multi-worker mode shares ONE listening socket between its workers: whichever worker's event loop
wakes first accepts every connection waiting in the queue, so a burst of keep-alive connections can all land on one
worker and stay there. Here the parent binds one socket per worker to the same host:port with ``SO_REUSEPORT``, and
the kernel hashes each new connection (by its addresses and ports) onto one of the sockets, each accepted by its
own worker.

The supervisor is still uvicorn's (it restarts dead workers, runs health checks, handles signals; see
``supervisor.py``); it hands the same list of sockets to every worker it spawns. ``WorkerSockets`` is that list: in
a worker, from the first time uvicorn reads it, it yields only the socket of the slot that worker claimed; the
others stay open as ``siblings``, for the worker to take over while their own worker is blocked (``failover.py``).
Slot ``i`` is free when no live worker holds the lock on slot file ``i`` (``flock``, in a directory the parent
made); the kernel drops the lock when the worker dies, so the worker that replaces it takes over its socket. The
parent keeps every socket open, so connections that arrive while a worker restarts wait in that socket's queue for
the replacement. A worker started while every slot is taken (SIGHUP's restart brings each new worker up before it
stops the old one; SIGTTIN adds a worker) listens on all the sockets, so none is left without a worker; after a
SIGHUP restart, ``Supervisor`` replaces such a worker once more, and the replacement takes the slot that was freed.

Linux only: there the kernel balances connections over ``SO_REUSEPORT`` listeners; other systems (e.g. macOS) give
them all to one socket, so there uvicorn's shared socket stays.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any, SupportsIndex

from uvicorn.config import STARTUP_FAILURE, Config

from hayhooks.process.heartbeats import create_heartbeats

logger = logging.getLogger("uvicorn.error")

# Lock files held by this process, by slots dir: (slot or None for "all sockets", file descriptor or None).
# Claimed once per process; the descriptor stays open for the life of the process, which is what holds the lock.
_CLAIMS: dict[str, tuple[int | None, int | None]] = {}


def kernel_balances() -> bool:
    """Whether this system spreads connections over ``SO_REUSEPORT`` listeners (Linux does; macOS does not)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _slot_path(slots_dir: str, index: int) -> str:
    return os.path.join(slots_dir, f"slot-{index}.lock")


def _claim_slot(slots_dir: str, count: int) -> int | None:
    """The first slot whose lock this process could take (None: all taken, or the slots dir is gone)."""
    if slots_dir in _CLAIMS:
        return _CLAIMS[slots_dir][0]
    claimed: tuple[int | None, int | None] = (None, None)
    for index in range(count):
        try:
            fd = os.open(_slot_path(slots_dir, index), os.O_RDWR)
        except OSError:
            break
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())  # tells the parent which worker has which slot
        claimed = (index, fd)
        break
    _CLAIMS[slots_dir] = claimed
    return claimed[0]


class WorkerSockets(list[socket.socket]):
    """The listening sockets of one address, one per worker; in a worker, only the socket it claimed.

    In the parent it holds every socket. A worker gets a copy through pickling (uvicorn spawns its workers); the
    first time the worker reads the copy, it claims a free slot and keeps only that slot's socket (or every socket
    if no slot is free), closing its copies of the others.
    """

    def __init__(self, sockets: Iterable[socket.socket], slots_dir: str, *, in_worker: bool = False) -> None:
        super().__init__(sockets)
        self.slots_dir = slots_dir
        self.slot: int | None = None
        self.siblings: dict[int, socket.socket] = {}  # in a worker with a slot: the other slots' sockets
        self._unclaimed = in_worker

    def holders(self, live: set[int]) -> set[int]:
        """In the parent: which of the ``live`` worker pids hold a slot (each wrote its pid in its slot file)."""
        pids: set[int] = set()
        for index in range(len(self)):
            with contextlib.suppress(OSError, ValueError), open(_slot_path(self.slots_dir, index)) as slot:
                pids.add(int(slot.read()))
        return pids & live

    def __reduce__(self) -> tuple[Any, ...]:
        return (_worker_copy, (list(super().__iter__()), self.slots_dir))

    def _claim(self) -> None:
        if not self._unclaimed:
            return
        self._unclaimed = False
        everything = list(super().__iter__())
        self.slot = _claim_slot(self.slots_dir, len(everything))
        if self.slot is None:
            logger.info(
                "Worker [%d]: every socket slot is taken (a restart in progress?), listening on all %d sockets.",
                os.getpid(),
                len(everything),
            )
            return
        mine = everything[self.slot]
        self.siblings = {index: sock for index, sock in enumerate(everything) if sock is not mine}
        self[:] = [mine]
        logger.debug("Worker [%d] listens on socket %d of %d.", os.getpid(), self.slot + 1, len(everything))

    def __iter__(self) -> Iterator[socket.socket]:
        self._claim()
        return super().__iter__()

    def __len__(self) -> int:
        self._claim()
        return super().__len__()

    def __getitem__(self, index: SupportsIndex | slice) -> Any:  # type: ignore[override]
        self._claim()
        return super().__getitem__(index)


def _worker_copy(sockets: list[socket.socket], slots_dir: str) -> WorkerSockets:
    return WorkerSockets(sockets, slots_dir, in_worker=True)


def _bind(family: socket.AddressFamily, host: str, port: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(family=family)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def bind_sockets(config: Config) -> list[socket.socket]:
    """``config.workers`` sockets bound to the same host:port with ``SO_REUSEPORT``, not listening yet.

    As uvicorn's ``Config.bind_socket``: an IPv6 address when the host has a colon, ``SO_REUSEADDR``, the same
    "running on" log line, and exit status 3 when the address cannot be bound. ``SO_REUSEPORT`` alone would let a
    second server started on the same port by the same user share it silently, so the address is first bound
    without it, which fails if anything listens there (it also resolves port 0 to one port for all the sockets).
    """
    family = socket.AF_INET6 if config.host and ":" in config.host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        with _bind(family, config.host, config.port, reuse_port=False) as probe:
            port = probe.getsockname()[1]
        for _ in range(config.workers):
            sockets.append(_bind(family, config.host, port, reuse_port=True))
    except OSError as exc:
        for sock in sockets:
            sock.close()
        logger.error(exc)
        sys.exit(STARTUP_FAILURE)
    for sock in sockets:
        sock.set_inheritable(True)
    address = "%s://[%s]:%d" if family == socket.AF_INET6 else "%s://%s:%d"
    scheme = "https" if config.is_ssl else "http"
    logger.info(f"Uvicorn running on {address} (Press CTRL+C to quit)", scheme, config.host, port)
    return sockets


@contextlib.contextmanager
def worker_sockets(config: Config) -> Iterator[WorkerSockets]:
    """The sockets and their slot files, for the life of the block; both are closed and removed at its end."""
    sockets = bind_sockets(config)
    slots_dir = tempfile.mkdtemp(prefix="hayhooks-sockets-")
    try:
        for index in range(len(sockets)):
            with open(_slot_path(slots_dir, index), "wb"):
                pass
        create_heartbeats(slots_dir, len(sockets))
        yield WorkerSockets(sockets, slots_dir)
    finally:
        for sock in sockets:
            sock.close()
        shutil.rmtree(slots_dir, ignore_errors=True)
