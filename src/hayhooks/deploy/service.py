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
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hayhooks.deploy import files as pf
from hayhooks.deploy.errors import (
    DeployError,
    InvalidPipelineError,
    PipelineConflictError,
    PipelineExistsError,
    PipelineNotFoundError,
    RuntimeDeployDisabledError,
)
from hayhooks.deploy.loader import discard, load_wrapper_folder, load_yaml_source, new_runtime_dir
from hayhooks.registry import DeployedPipeline, Registry
from hayhooks.settings import Settings

logger = logging.getLogger("hayhooks.deploy")


@dataclass
class StartupReport:
    deployed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class DeployService:
    def __init__(self, settings: Settings, registry: Registry) -> None:
        self.settings = settings
        self.registry = registry
        # Not resolved: when the configured path is a symlink that gets repointed (a release switch), saves
        # and the watcher follow the new target.
        self.pipelines_dir = Path(os.path.abspath(Path(settings.pipelines_dir).expanduser()))
        self._global_lock = threading.RLock()
        self._name_locks: dict[str, threading.RLock] = {}

    # --- locking -------------------------------------------------------------------------------------------
    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Serialize changes to one pipeline (or to all of them, with ``deploy_concurrency=serialized``)."""
        if self.settings.deploy_concurrency == "serialized":
            with self._global_lock:
                yield
            return
        with self._global_lock:
            name_lock = self._name_locks.setdefault(name, threading.RLock())
        with name_lock:
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
            self._check_not_taken(name, overwrite, save_files)
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
            self._check_not_taken(name, overwrite, save_file)
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
                raise PipelineNotFoundError(f"Pipeline '{name}' not found.")
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

    def _check_not_taken(self, name: str, overwrite: bool, saving: bool) -> None:
        if overwrite:
            return
        if name in self.registry or (saving and pf.exists_on_disk(self.pipelines_dir, name)):
            raise PipelineExistsError(f"Pipeline '{name}' already exists; pass overwrite=true to replace it.")

    def _save(self, pipeline: DeployedPipeline, write) -> None:  # type: ignore[no-untyped-def]
        """Write a loaded pipeline to the pipelines dir; an operator's pipeline stays operator-owned."""
        managed = not pf.exists_on_disk(self.pipelines_dir, pipeline.name) or pf.is_managed(
            self.pipelines_dir, pipeline.name
        )
        try:
            self.pipelines_dir.mkdir(parents=True, exist_ok=True)
            write(managed)
        except OSError as exc:
            discard(pipeline)
            raise DeployError(f"Pipeline '{pipeline.name}' loaded but could not be saved: {exc}") from exc
        pipeline.saved = True

    # --- the pipelines dir ---------------------------------------------------------------------------------
    def load_from_disk(self, name: str, path: Path) -> DeployedPipeline:
        """Load one pipeline of the pipelines dir (a wrapper folder or a YAML file) and register it."""
        with self.lock(name):
            if path.is_dir():
                version = pf.folder_version(path)
                runtime_dir = new_runtime_dir(name)
                try:
                    pf.copy_folder(path, runtime_dir)
                    pipeline = load_wrapper_folder(
                        name, runtime_dir, version=version, show_traceback=self.settings.show_tracebacks
                    )
                except BaseException:
                    shutil.rmtree(runtime_dir, ignore_errors=True)
                    raise
            else:
                pipeline = load_yaml_source(
                    name, path.read_text(encoding="utf-8"), show_traceback=self.settings.show_tracebacks
                )
            pipeline.saved = pf.is_managed(self.pipelines_dir, name)
            self._install(pipeline)
            return pipeline

    def _try_load(self, name: str, path: Path) -> str | None:
        try:
            self.load_from_disk(name, path)
            return None
        except Exception as exc:
            return str(exc) if isinstance(exc, DeployError) else f"{type(exc).__name__}: {exc}"

    def deploy_directory(self) -> StartupReport:
        """Deploy everything in the pipelines dir; broken pipelines are logged and skipped."""
        started = time.perf_counter()
        self.pipelines_dir.mkdir(parents=True, exist_ok=True)
        entries = pf.discover(self.pipelines_dir)
        report = StartupReport()
        parallel = self.settings.startup_deploy_strategy == "parallel" and self.settings.startup_deploy_workers > 1
        if parallel and len(entries) > 1:
            with ThreadPoolExecutor(self.settings.startup_deploy_workers, thread_name_prefix="hayhooks-deploy") as pool:
                errors = dict(zip(entries, pool.map(lambda item: self._try_load(*item), entries.items()), strict=True))
            # A failure on a thread is retried alone, so the parallel strategy deploys exactly what the
            # sequential one would, whatever races third-party imports have.
            errors = {n: self._try_load(n, entries[n]) if e else None for n, e in errors.items()}
        else:
            errors = {name: self._try_load(name, path) for name, path in entries.items()}
        for name, error in errors.items():
            if error:
                report.failed[name] = error
                self.registry.set_error(name, error)
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
