"""A clean exit after SIGTERM.

uvicorn stops accepting connections, lets in-flight requests finish for up to
``HAYHOOKS_GRACEFUL_SHUTDOWN_TIMEOUT`` seconds, runs the lifespan shutdown, then re-raises the signal so the
process dies of it (exit status -15). ``exit_zero_after_sigterm`` makes that last step an ordinary exit with
status 0, without waiting for a sync pipeline run that was abandoned after its timeout and still occupies a
thread. With several workers, the parent supervisor exits 0 on its own after its workers.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
from types import FrameType


def _exit_zero(signum: int, frame: FrameType | None) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(0)


def exit_zero_after_sigterm() -> None:
    """Install the handler uvicorn restores (and re-raises SIGTERM into) after its graceful shutdown."""
    signal.signal(signal.SIGTERM, _exit_zero)
