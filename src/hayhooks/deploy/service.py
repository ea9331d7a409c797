"""Deploy, redeploy and undeploy pipelines: the one place that changes the registry and the pipelines dir.

Every operation is blocking (it imports code and runs ``setup()``) and is meant to run in a worker thread.
A new version is loaded and set up completely before it replaces the old one in the registry; if anything
fails, the old version keeps serving and its files on disk are untouched.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hayhooks import executor
from hayhooks.deploy import files as pf
from hayhooks.deploy.errors import (
    DeployError,
    InvalidPipelineError,
    PipelineConflictError,
    PipelineExistsError,
    PipelineFilesError,
    PipelineNotFoundError,
    RuntimeDeployDisabledError,
)
from hayhooks.deploy.loader import discard, load_wrapper_folder, load_yaml_source, new_runtime_dir
from hayhooks.registry import DeployedPipeline, Registry
from hayhooks.settings import Settings

logger = logging.getLogger("hayhooks.deploy")


@dataclass(frozen=True)
class StagedPipeline:
    """A pipeline of the dir read from disk (a wrapper folder: copied to its runtime dir), ready to load."""

    name: str
    managed: bool
    yaml_source: str | None = None
    runtime_dir: Path | None = None
    version: str = ""


def _error_text(exc: Exception) -> str:
    return str(exc) if isinstance(exc, DeployError) else f"{type(exc).__name__}: {exc}"


@dataclass
class StartupReport:
    deployed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class DeployService:
    def __init__(self, settings: Settings, registry: Registry) -> None:
        self.settings = settings
        self.registry = registry
        pf.configure_ignore_patterns(settings.files_to_ignore_patterns)
        # Not resolved: when the configured path is a symlink that gets repointed (a release switch), saves
        # and the watcher follow the new target.
        self.pipelines_dir = Path(os.path.abspath(Path(settings.pipelines_dir).expanduser()))
        self._global_lock = threading.RLock()
        self._name_locks: dict[str, threading.RLock] = {}
        self._name_locks_guard = threading.Lock()
        # Name -> content version of each pipeline of the dir that failed to load at startup: the watcher takes
        # them over, so it neither loads (and runs setup() of) the same broken version again nor logs it twice.
        self.startup_failures: dict[str, str] = {}

    # --- locking -------------------------------------------------------------------------------------------
    def _name_lock(self, name: str) -> threading.RLock:
        with self._name_locks_guard:
            return self._name_locks.setdefault(name, threading.RLock())

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Serialize changes to one pipeline (and to all of them, with ``deploy_concurrency=serialized``)."""
        if self.settings.deploy_concurrency == "serialized":
            with self._global_lock, self._name_lock(name):
                yield
        else:
            with self._name_lock(name):
                yield

    def _check_runtime_deploy_allowed(self) -> None:
        if not self.settings.runtime_deploy:
            raise RuntimeDeployDisabledError(
                "Runtime deploy is disabled (HAYHOOKS_RUNTIME_DEPLOY=false): put the pipeline in "
                f"HAYHOOKS_PIPELINES_DIR ({self.pipelines_dir}) instead."
            )

    def _install(self, pipeline: DeployedPipeline) -> None:
        previous = self.registry.put(pipeline)
        if previous is not None:
            discard(previous)

    # --- requests ------------------------------------------------------------------------------------------
    def deploy_files(
        self,
        name: str,
        files: Mapping[str, str],
        *,
        overwrite: bool = False,
        save_files: bool = True,
        skip_mcp: bool = False,
        description: str | None = None,
    ) -> DeployedPipeline:
        self._check_runtime_deploy_allowed()
        pf.validate_pipeline_name(name)
        checked = pf.check_files(files)
        if pf.PurePosixPath(pf.WRAPPER_FILE) not in checked:
            raise InvalidPipelineError(f"Missing required file: {pf.WRAPPER_FILE}")
        with self.lock(name):
            self._check_not_taken(name, overwrite, save_files, pf.content_version(checked))
            if save_files:
                pf.check_writable(self.pipelines_dir)
                folder = self.pipelines_dir / name
                if folder.is_dir():
                    # A file name through a symlink of the saved folder points elsewhere: refuse it.
                    for rel in checked:
                        pf.ensure_inside(folder, folder / rel)
            runtime_dir = new_runtime_dir(name)
            try:
                pf.write_tree(runtime_dir, checked)
                pipeline = load_wrapper_folder(
                    name,
                    runtime_dir,
                    version=pf.content_version(checked),
                    source="request",
                    show_traceback=self.settings.show_tracebacks,
                )
            except BaseException:
                shutil.rmtree(runtime_dir, ignore_errors=True)
                raise
            pipeline.skip_mcp = pipeline.skip_mcp or skip_mcp
            if description:
                pipeline.description = description
            if save_files:
                self._save(pipeline, lambda managed: pf.save_wrapper_folder(self.pipelines_dir, name, checked, managed))
            self._install(pipeline)
            logger.info("Deployed pipeline '%s' (version %s)", name, pipeline.version)
            return pipeline

    def deploy_yaml(
        self,
        name: str,
        source_code: str,
        *,
        overwrite: bool = False,
        save_file: bool = True,
        description: str | None = None,
        skip_mcp: bool = False,
    ) -> DeployedPipeline:
        self._check_runtime_deploy_allowed()
        pf.validate_pipeline_name(name)
        with self.lock(name):
            self._check_not_taken(name, overwrite, save_file, pf.content_version(source_code))
            if save_file:
                pf.check_writable(self.pipelines_dir)
            pipeline = load_yaml_source(
                name,
                source_code,
                source="request",
                description=description,
                show_traceback=self.settings.show_tracebacks,
            )
            pipeline.skip_mcp = pipeline.skip_mcp or skip_mcp
            if save_file:
                self._save(pipeline, lambda managed: pf.save_yaml_file(self.pipelines_dir, name, source_code, managed))
            self._install(pipeline)
            logger.info("Deployed YAML pipeline '%s' (version %s)", name, pipeline.version)
            return pipeline

    def undeploy(self, name: str) -> None:
        self._check_runtime_deploy_allowed()
        pf.validate_pipeline_name(name)
        with self.lock(name):
            on_disk = pf.exists_on_disk(self.pipelines_dir, name)
            if name not in self.registry and not on_disk:
                raise PipelineNotFoundError(f"Pipeline '{name}' not found")
            if on_disk:
                if not pf.is_managed(self.pipelines_dir, name):
                    raise PipelineConflictError(
                        f"Pipeline '{name}' was put in the pipelines dir ({self.pipelines_dir}) by hand; remove it "
                        "from there to undeploy it everywhere."
                    )
                pf.check_writable(self.pipelines_dir)
                pf.remove_saved_pipeline(self.pipelines_dir, name)
            previous = self.registry.remove(name)
            if previous is not None:
                discard(previous)
            logger.info("Undeployed pipeline '%s'", name)

    def _check_not_taken(self, name: str, overwrite: bool, saving: bool, version: str) -> None:
        if overwrite:
            return
        on_disk = saving and pf.exists_on_disk(self.pipelines_dir, name)
        if name in self.registry or (on_disk and not self._saved_as(name, version)):
            raise PipelineExistsError(f"Pipeline '{name}' already exists; pass overwrite=true to replace it.")

    def _saved_as(self, name: str, version: str) -> bool:
        """Whether a deploy request already saved exactly this version of ``name`` (its files are left on disk
        when the registry forgets it, e.g. ``registry.clear()``): saving the same content again changes nothing,
        so it is no conflict. An operator's files always are."""
        if not pf.is_managed(self.pipelines_dir, name):
            return False
        folder = self.pipelines_dir / name
        path = folder if folder.is_dir() else pf.existing_yaml(self.pipelines_dir, name)
        try:
            return path is not None and pf.disk_version(path) == version
        except OSError:
            return False

    def _save(self, pipeline: DeployedPipeline, write) -> None:  # type: ignore[no-untyped-def]
        """Write a loaded pipeline to the pipelines dir; an operator's pipeline stays operator-owned."""
        managed = not pf.exists_on_disk(self.pipelines_dir, pipeline.name) or pf.is_managed(
            self.pipelines_dir, pipeline.name
        )
        try:
            write(managed)  # the dir is not created here: see files.check_writable
        except OSError as exc:
            discard(pipeline)
            if not self.pipelines_dir.is_dir():  # removed since the check: nothing was written
                raise PipelineConflictError(pf.missing_dir_message(self.pipelines_dir)) from exc
            raise PipelineFilesError(f"Pipeline '{pipeline.name}' loaded but could not be saved: {exc}") from exc
        pipeline.saved = True

    # --- the pipelines dir ---------------------------------------------------------------------------------
    def load_from_disk(self, name: str, path: Path) -> DeployedPipeline:
        """Load one pipeline of the pipelines dir (a wrapper folder or a YAML file) and register it."""
        with self.lock(name):
            return self._load_staged(self._stage(name, path))

    def _stage(self, name: str, path: Path) -> StagedPipeline:
        pf.validate_pipeline_name(name)  # e.g. a folder named like one of the server's routes
        managed = pf.is_managed(self.pipelines_dir, name)
        if not path.is_dir():
            return StagedPipeline(name, managed, yaml_source=path.read_text(encoding="utf-8"))
        runtime_dir = new_runtime_dir(name)
        try:
            version = pf.copy_folder(path, runtime_dir)
        except BaseException:
            shutil.rmtree(runtime_dir, ignore_errors=True)
            raise
        return StagedPipeline(name, managed, runtime_dir=runtime_dir, version=version)

    def _load_staged(self, staged: StagedPipeline) -> DeployedPipeline:
        show_traceback = self.settings.show_tracebacks
        if staged.runtime_dir is None:
            pipeline = load_yaml_source(staged.name, staged.yaml_source or "", show_traceback=show_traceback)
        else:
            try:
                pipeline = load_wrapper_folder(
                    staged.name, staged.runtime_dir, version=staged.version, show_traceback=show_traceback
                )
            except BaseException:
                shutil.rmtree(staged.runtime_dir, ignore_errors=True)
                raise
        pipeline.saved = staged.managed
        self._install(pipeline)
        return pipeline

    def _try_load(self, name: str, path: Path) -> str | None:
        """None, or why the pipeline failed to load."""
        try:
            self.load_from_disk(name, path)
        except Exception as exc:
            return _error_text(exc)
        return None

    def _try_load_staged(self, staged: StagedPipeline) -> str | None:
        """On a deploy thread: the pipeline's own lock only, even with ``deploy_concurrency=serialized`` (which
        is about runtime requests), so the threads really run side by side."""
        try:
            with self._name_lock(staged.name):
                self._load_staged(staged)
        except Exception as exc:
            return _error_text(exc)
        return None

    def _load_in_parallel(self, entries: dict[str, Path]) -> dict[str, str | None]:
        """Load on ``startup_deploy_workers`` threads, which overlap whatever releases the GIL (I/O in ``setup()``).

        Every pipeline is read (and copied) here first: on a thread competing for the GIL, each of those many
        small file operations would wait to get it back. The first one then loads alone: it pays for the imports
        they all share (Haystack, PyYAML), which the threads would otherwise all wait for, or race into
        half-initialised. A failure is retried alone, so the parallel strategy deploys exactly what the
        sequential one would, whatever races third-party imports have.
        """
        errors: dict[str, str | None] = {}
        staged: list[StagedPipeline] = []
        for name, path in entries.items():
            try:
                staged.append(self._stage(name, path))
            except Exception as exc:
                errors[name] = _error_text(exc)
        if staged:
            errors[staged[0].name] = self._try_load_staged(staged[0])
        rest = staged[1:]
        loaded = executor.map_blocking(self._try_load_staged, rest, self.settings.startup_deploy_workers)
        errors.update(zip([s.name for s in rest], loaded, strict=True))
        return {name: self._try_load(name, path) if errors[name] else None for name, path in entries.items()}

    def _remember_failure(self, name: str, path: Path) -> None:
        try:
            self.startup_failures[name] = pf.disk_version(path)
        except OSError:  # gone or unreadable: the watcher looks at it again
            pass

    def deploy_directory(self) -> StartupReport:
        """Deploy everything in the pipelines dir; broken pipelines are logged and skipped."""
        started = time.perf_counter()
        self.pipelines_dir.mkdir(parents=True, exist_ok=True)
        entries = pf.discover(self.pipelines_dir)
        report = StartupReport()
        parallel = self.settings.startup_deploy_strategy == "parallel" and self.settings.startup_deploy_workers > 1
        if parallel and len(entries) > 1:
            errors = self._load_in_parallel(entries)
        else:
            errors = {name: self._try_load(name, path) for name, path in entries.items()}
        for name, error in errors.items():
            if error:
                report.failed[name] = error
                self.registry.set_error(name, error)
                self._remember_failure(name, entries[name])
                logger.error("Skipped: %s", error)
            else:
                report.deployed.append(name)
        report.seconds = time.perf_counter() - started
        logger.info(
            "Deployed %d pipeline(s) from %s in %.2fs (%d skipped)",
            len(report.deployed),
            self.pipelines_dir,
            report.seconds,
            len(report.failed),
        )
        return report
