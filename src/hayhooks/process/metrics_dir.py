"""One Prometheus multiprocess directory shared by every worker of ``hayhooks run``.

Each worker is its own process with its own counters. ``metrics_dir`` points ``PROMETHEUS_MULTIPROC_DIR`` at a
fresh directory before the workers are spawned (they inherit the environment), so any worker's ``/metrics`` adds
up all of them; the directory is removed at exit. A directory the operator set is used as is and left in place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

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
