"""Make this worker's registry match the pipelines dir: load what changed, undeploy what disappeared.

Changes are found by content hash: a pipeline whose hash equals the registry's version is left alone, so the
worker that saved a pipeline for a deploy request never reloads its own save. Full rescans read no file content
while nothing was touched (a cache of file stats stands in for the hash), which keeps a periodic rescan cheap.

Every call blocks (a load imports code and runs ``setup()``): run it on a worker thread, never on the event loop.
A load that fails leaves the previous version serving and is recorded with ``Registry.set_error``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hayhooks.deploy import files as pf
from hayhooks.deploy.errors import DeployError
from hayhooks.deploy.loader import discard
from hayhooks.deploy.service import DeployService
from hayhooks.registry import DeployedPipeline

logger = logging.getLogger("hayhooks.watch")

StatSignature = tuple[tuple[str, int, int, int, int], ...]
# A pipeline missing from the dir is checked again after this pause before it is undeployed: atomic replaces
# and `git checkout` remove an entry for a moment before putting the new one in place.
REMOVAL_GRACE_SECONDS = 0.3


@dataclass
class SyncResult:
    loaded: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def locate(root: Path, name: str) -> Path | None:
    """Where pipeline ``name`` lives in the dir, with the same rules as ``files.discover``."""
    if not name or name.startswith((".", "_")) or "/" in name or "\x00" in name:
        return None
    folder = root / name
    if folder.is_dir() and (folder / pf.WRAPPER_FILE).is_file():
        return folder
    for suffix in sorted(pf.YAML_SUFFIXES):
        candidate = root / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def stat_signature(path: Path) -> StatSignature:
    entries = pf.pipeline_files(path) if path.is_dir() else [(pf.PurePosixPath(path.name), path)]
    signature = []
    for rel, file in entries:
        st = os.stat(file)
        signature.append((str(rel), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return tuple(signature)


def is_disk_backed(pipeline: DeployedPipeline) -> bool:
    """Loaded from the dir or saved there; a request deployed with ``save_files=false`` lives in memory only."""
    return pipeline.source == "directory" or pipeline.saved


def _error_text(exc: Exception) -> str:
    return str(exc) if isinstance(exc, DeployError) else f"{type(exc).__name__}: {exc}"


class DirectorySync:
    def __init__(self, deployer: DeployService, root: Path | None = None) -> None:
        self.deployer = deployer
        self.registry = deployer.registry
        self.root = Path(root) if root is not None else deployer.pipelines_dir
        self._hashes: dict[str, tuple[StatSignature, str]] = {}
        # Versions that failed to load (the startup deploy's failures included): not retried until they change.
        self._failed: dict[str, str] = deployer.startup_failures

    # --- entry points --------------------------------------------------------------------------------------
    def rescan(self, names: Iterable[str] | None = None) -> SyncResult:
        """Sync ``names`` (changed on disk: hashed, failed versions retried) or, with ``None``, everything
        (stat cache trusted, failed versions not retried). A missing dir changes nothing."""
        result = SyncResult()
        if not self.root.is_dir():
            logger.warning("Pipelines dir %s is missing; keeping the deployed pipelines until it is back", self.root)
            return result
        full = names is None
        targets = self._all_names() if full else set(names)  # type: ignore[arg-type]
        missing = [n for n in sorted(targets) if self._sync_one(n, result, trust_stats=full, retry_failed=not full)]
        if missing:
            time.sleep(REMOVAL_GRACE_SECONDS)
            for name in missing:
                self._remove_if_gone(name, result)
        return result

    def ensure(self, name: str) -> DeployedPipeline | None:
        """Load ``name`` now if the dir has it and this worker does not (a request arrived before the event)."""
        current = self.registry.get(name)
        if current is not None:
            return current
        try:
            pf.validate_pipeline_name(name)
        except DeployError:  # not a name a pipeline can have: nothing to load
            return None
        try:
            if locate(self.root, name) is None:
                return None
            self._sync_one(name, SyncResult(), trust_stats=True, retry_failed=False)
        except Exception:
            logger.exception("Loading pipeline '%s' on demand failed", name)
        return self.registry.get(name)

    # --- one pipeline --------------------------------------------------------------------------------------
    def _all_names(self) -> set[str]:
        on_disk = set(pf.discover(self.root))
        backed = {p.name for p in self.registry.all() if is_disk_backed(p)}
        return on_disk | backed | set(self.registry.errors())

    def _version(self, name: str, path: Path, trust_stats: bool) -> str:
        signature = stat_signature(path)  # taken before hashing, so a racing edit is never cached as hashed
        cached = self._hashes.get(name)
        if trust_stats and cached is not None and cached[0] == signature:
            return cached[1]
        version = pf.disk_version(path)
        self._hashes[name] = (signature, version)
        return version

    def _sync_one(self, name: str, result: SyncResult, *, trust_stats: bool, retry_failed: bool) -> bool:
        """Bring ``name`` in line with the dir; True when it is gone from the dir but still deployed."""
        with self.deployer.lock(name):
            current = self.registry.get(name)
            path = locate(self.root, name)
            if path is None:
                return self._forget(name, current)
            try:
                version = self._version(name, path, trust_stats)
            except OSError:  # removed or replaced while we read it: the event that follows syncs it again
                return False
            if current is not None and current.version == version:
                self._clear_failure(name)
                return False
            if current is not None and not is_disk_backed(current):
                return False
            if not retry_failed and self._failed.get(name) == version:
                return False
            self._load(name, path, version, current, result)
            return False

    def _load(self, name: str, path: Path, version: str, current: DeployedPipeline | None, result: SyncResult) -> None:
        try:
            pipeline = self.deployer.load_from_disk(name, path)
        except Exception as exc:
            message = _error_text(exc)
            self._failed[name] = version
            self.registry.set_error(name, message)
            result.failed[name] = message
            keeps = f"; version {current.version} keeps serving" if current is not None else ""
            logger.error("Pipeline '%s' from the pipelines dir failed to load%s: %s", name, keeps, message)
            return
        self._failed.pop(name, None)
        result.loaded.append(name)
        before = f"{current.version} -> " if current is not None else ""
        logger.info("Loaded pipeline '%s' from the pipelines dir (version %s%s)", name, before, pipeline.version)

    def _forget(self, name: str, current: DeployedPipeline | None) -> bool:
        self._hashes.pop(name, None)
        if current is None or not is_disk_backed(current):
            self._clear_failure(name)
            return False
        return True

    def _clear_failure(self, name: str) -> None:
        if self._failed.pop(name, None) is not None or name in self.registry.errors():
            self.registry.clear_error(name)

    def _remove_if_gone(self, name: str, result: SyncResult) -> None:
        with self.deployer.lock(name):
            current = self.registry.get(name)
            if locate(self.root, name) is not None or current is None or not is_disk_backed(current):
                return
            self.registry.remove(name)
            self._clear_failure(name)
            discard(current)
            result.removed.append(name)
            logger.info("Undeployed pipeline '%s': it was removed from the pipelines dir", name)
