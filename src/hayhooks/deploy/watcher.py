"""Hot reload: every worker watches the pipelines dir and applies whatever anyone changes there.

One daemon thread per worker runs ``watchfiles`` (debounced inotify events) and syncs only the pipelines the
events name. Events on hidden entries that are not ours (a Kubernetes ConfigMap swapping its ``..data``
symlink) trigger a full rescan, as does the dir itself being replaced (checked on every tick by its inode) and
a periodic timer for filesystems that send no events (NFS). Full rescans compare file stats and hash only what
changed. A request for a name this worker does not have yet loads it from the dir on the spot
(``resolve_missing``), so a pipeline just deployed by another worker never answers 404 here. The server runs
one watcher per worker and wires ``resolve_missing`` into its lookups (``server/watching.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import watchfiles

from hayhooks import executor
from hayhooks.deploy import files as pf
from hayhooks.deploy.service import DeployService
from hayhooks.deploy.sync import DirectorySync
from hayhooks.registry import DeployedPipeline

logger = logging.getLogger("hayhooks.watch")

DEBOUNCE_MS = 1000  # longest a burst of events is gathered before syncing
STEP_MS = 50  # a burst ends after this much quiet
TICK_MS = 500  # wake-up period for the dir-replaced check and the periodic rescan
# Tool folders at the top of the dir (a git checkout of the pipelines): their churn is not a pipeline change.
TOOL_DIRS = frozenset({".git", ".hg", ".svn", ".idea", ".vscode", ".mypy_cache", ".pytest_cache", ".ruff_cache"})

DirIdentity = tuple[int, int]


def dir_identity(path: Path) -> DirIdentity | None:
    """Device and inode of the dir a path leads to (through symlinks); None when it is not a dir."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if os.path.isdir(path) else None


def _candidate_names(entry: str) -> set[str]:
    """Pipeline names a top-level entry can stand for: ``x.yml`` is the YAML pipeline ``x`` (or a folder)."""
    if entry.startswith(("_", ".")):
        return set()
    stem, suffix = os.path.splitext(entry)
    return {entry, stem} if suffix in pf.YAML_SUFFIXES else {entry}


def _relative_parts(roots: Iterable[str], raw_path: str) -> tuple[str, ...]:
    for root in roots:
        if raw_path.startswith(root + os.sep):
            return PurePosixPath(raw_path[len(root) + 1 :]).parts
    return ()


def affected_names(root: Path, changes: Iterable[tuple[Any, str]]) -> set[str] | None:
    """Pipeline names touched by a batch of events, or None when everything must be rescanned."""
    roots = {str(root).rstrip(os.sep), os.path.realpath(root)}
    names: set[str] = set()
    for _change, raw_path in changes:
        parts = _relative_parts(roots, raw_path)
        if not parts:
            return None  # the dir itself
        top = parts[0]
        if top in TOOL_DIRS:
            continue
        if top.startswith("."):
            owner = pf.hidden_owner(top)
            if owner is None:
                return None  # e.g. `..data` swapped by a ConfigMap update
            top = owner
        elif len(parts) > 1 and pf.is_ignored(PurePosixPath(*parts[1:])):
            continue
        names |= _candidate_names(top)
    return names


class PipelineWatcher:
    def __init__(self, deployer: DeployService, *, rescan_interval: float = 30.0, root: Path | None = None) -> None:
        self.sync = DirectorySync(deployer, root)
        self.root = self.sync.root
        self.rescan_interval = rescan_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: dict[str, asyncio.Future[DeployedPipeline | None]] = {}

    # --- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> None:
        logging.getLogger("watchfiles").setLevel(logging.WARNING)  # it logs every batch at INFO
        self._thread = executor.spawn(self._run, "hayhooks-watcher")
        logger.info("Watching %s for pipeline changes", self.root)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    async def aclose(self) -> None:
        """``stop`` from the event loop (the join happens off it)."""
        await executor.run(self.stop)

    # --- requests for names this worker lacks ----------------------------------------------------------------
    async def resolve_missing(self, name: str) -> DeployedPipeline | None:
        """Load ``name`` from the dir if it is there; concurrent requests for one name share one load."""
        future = self._pending.get(name)
        if future is None:
            future = asyncio.ensure_future(executor.run(self.sync.ensure, name))
            self._pending[name] = future
            future.add_done_callback(lambda _done: self._pending.pop(name, None))
        return await asyncio.shield(future)

    # --- the watch thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        warned = False
        while not self._stop.is_set():
            identity = dir_identity(self.root)
            if identity is None:
                if not warned:
                    logger.warning("Pipelines dir %s is missing; waiting for it (pipelines keep serving)", self.root)
                    warned = True
                self._stop.wait(TICK_MS / 1000)
                continue
            if warned:  # back: sync at once rather than after the watch's first tick
                logger.info("Pipelines dir %s is back; rescanning it", self.root)
                self._sync(None)
            warned = False
            try:
                self._watch(identity)
            except Exception:
                logger.exception("Watching %s failed; starting again", self.root)
                self._stop.wait(1.0)

    def _watch(self, identity: DirIdentity) -> None:
        """Sync on events until stopped or the dir is replaced; the first batch (or tick) rescans everything,
        which covers whatever changed before the watch was in place."""
        next_full = 0.0
        batches = watchfiles.watch(
            self.root,
            watch_filter=None,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            rust_timeout=TICK_MS,
            yield_on_timeout=True,
            stop_event=self._stop,
            raise_interrupt=False,
            ignore_permission_denied=True,
        )
        for changes in batches:
            current = dir_identity(self.root)
            if current != identity:
                if current is not None:  # when it is gone, _run says so and waits for it
                    logger.info("Pipelines dir %s was replaced; rescanning it", self.root)
                    self._sync(None)
                return
            names = affected_names(self.root, changes) if changes else set()
            if names is None or time.monotonic() >= next_full:
                self._sync(None)
                next_full = time.monotonic() + self.rescan_interval if self.rescan_interval > 0 else float("inf")
            elif names:
                self._sync(names)

    def _sync(self, names: set[str] | None) -> None:
        try:
            self.sync.rescan(names)
        except Exception:
            logger.exception("Syncing pipelines from %s failed", self.root)
