"""Process-level setup of ``hayhooks run``: shared metrics across workers, and a clean exit after SIGTERM.

- Several workers: each is its own process with its own counters. ``metrics_dir`` points
  ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before uvicorn spawns them (they inherit the
  environment), so any worker's ``/metrics`` adds up all of them; the directory is removed at exit. A
  directory the operator set is used as is and left in place.
- SIGTERM: uvicorn stops accepting connections, lets in-flight requests finish for up to
  ``HAYHOOKS_GRACEFUL_SHUTDOWN_TIMEOUT`` seconds, runs the lifespan shutdown, then re-raises the signal so
  the process dies of it (exit status -15). ``exit_zero_after_sigterm`` makes that last step an ordinary exit
  with status 0, without waiting for a sync pipeline run that was abandoned after its timeout and still
  occupies a thread. With several workers, the parent supervisor exits 0 on its own after its workers.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from types import FrameType

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def metrics_dir(workers: int) -> Iterator[str | None]:
    """A fresh multiprocess metrics directory for the duration of the block, when there are several workers."""
    if workers <= 1 or os.environ.get(MULTIPROC_ENV):
        yield os.environ.get(MULTIPROC_ENV)
        return
    path = tempfile.mkdtemp(prefix="hayhooks-metrics-")
    os.environ[MULTIPROC_ENV] = path
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)


def _exit_zero(signum: int, frame: FrameType | None) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(0)


def exit_zero_after_sigterm() -> None:
    """Install the handler uvicorn restores (and re-raises SIGTERM into) after its graceful shutdown."""
    signal.signal(signal.SIGTERM, _exit_zero)
