"""Runs the app's worker processes under uvicorn's supervisor, each with a listening socket of its own.

``serve_workers`` binds one ``SO_REUSEPORT`` socket per worker (``sockets.py``) and runs the ``Supervisor``: it
restarts dead workers, runs health checks and handles signals as uvicorn's does, and keeps every socket with a
worker of its own. Each worker runs a ``FailoverServer`` (``failover.py``): uvicorn's server, plus the heartbeat
that lets an idle sibling serve its socket while its event loop is blocked.
"""

from __future__ import annotations

import functools
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import multiprocess
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from hayhooks.process import sockets
from hayhooks.process.failover import FailoverServer
from hayhooks.process.sockets import WorkerSockets

logger = sockets.logger


class WorkerProcess(Process):
    """uvicorn's worker process, serving with a ``FailoverServer``."""

    @functools.cached_property
    def server(self) -> uvicorn.Server:  # type: ignore[override]
        return FailoverServer(config=self.config)


def serve_workers(config: uvicorn.Config) -> None:
    """What ``uvicorn.run`` does with several workers, with one ``SO_REUSEPORT`` socket per worker.

    Exits with uvicorn's startup-failure status (3) when the address cannot be bound, and also when the
    supervisor stopped because a worker failed to start.
    """
    with sockets.worker_sockets(config) as listeners:
        supervisor = Supervisor(config, sockets=listeners)
        try:
            supervisor.run()
        except KeyboardInterrupt:
            pass
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        sys.exit(STARTUP_FAILURE)


class Supervisor(Multiprocess):
    """uvicorn's supervisor, which keeps every socket with a worker of its own.

    - SIGHUP: uvicorn starts each new worker before it stops the old one, so the first new worker finds every slot
      taken and listens on all the sockets; once the restart is done, such workers are replaced again (the same
      way: the new one first), and each replacement takes a slot that was freed.
    - SIGTTOU removes the newest worker; it is refused when that would leave fewer workers than sockets, as the
      socket of the removed worker would keep taking connections that nobody accepts.
    """

    sockets: WorkerSockets

    def run(self) -> None:
        # uvicorn's supervisor has no parameter for the class of its workers: it builds each one with its module's
        # ``Process``. For as long as this supervisor runs, that name is ``WorkerProcess``.
        original, multiprocess.Process = multiprocess.Process, WorkerProcess  # type: ignore[misc]
        try:
            super().run()
        finally:
            multiprocess.Process = original  # type: ignore[misc]

    def handle_hup(self) -> None:
        super().handle_hup()
        self._take_free_slots()

    def handle_ttou(self) -> None:
        if self.processes_num <= len(self.sockets):
            logger.warning(
                "Received SIGTTOU, but each of the %d workers accepts the connections of its own socket: "
                "keeping them all (restart with fewer --workers instead).",
                self.processes_num,
            )
            return
        super().handle_ttou()
        self._take_free_slots()

    def _take_free_slots(self) -> None:
        """Replace the workers that listen on every socket while some slot has no worker."""
        for index, process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            holders = self.sockets.holders({p.pid for p in self.processes if p.pid is not None})
            if len(holders) >= len(self.sockets):
                return
            if process.pid not in holders and not self._replace_worker(index):
                return

    def _replace_worker(self, index: int) -> bool:
        """Start a new worker, and stop worker ``index`` once the new one serves (False: it did not, in time)."""
        old = self.processes[index]
        new = WorkerProcess(self.config, self.sockets)
        new.start()
        if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
            new.kill()
            new.join()
            if not self.should_exit.is_set():
                logger.error(f"New child process [{new.pid}] was not ready in time; keeping worker [{old.pid}].")
            return False
        old.terminate()
        old.join()
        self.processes[index] = new
        return True
