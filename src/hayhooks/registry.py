"""What is deployed: one entry per pipeline name, swapped atomically on redeploy.

Requests look a pipeline up once and keep that entry for their whole run, so a redeploy never changes the
version under a request in flight. Readers take no lock (a dict lookup is atomic); writers serialize.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hayhooks.signature import RunSignature
from hayhooks.wrapper import BasePipelineWrapper

PipelineKind = Literal["wrapper", "yaml"]
Listener = Callable[[str, str], None]
logger = logging.getLogger("hayhooks.registry")


@dataclass(eq=False)
class DeployedPipeline:
    name: str
    kind: PipelineKind
    wrapper: BasePipelineWrapper
    version: str
    methods: frozenset[str]
    run_signature: RunSignature | None
    description: str = ""
    skip_mcp: bool = False
    source: Literal["request", "directory"] = "directory"
    saved: bool = False
    request_timeout: float | None = None
    max_concurrent_runs: int | None = None
    max_queued_runs: int | None = None
    streaming_components: list[str] | str | None = None
    deployed_at: float = field(default_factory=time.time)
    runtime_dir: Path | None = None
    package_name: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    # Methods declaring a ``headers`` parameter the server fills with the request's headers.
    header_methods: frozenset[str] = frozenset()

    @property
    def has_run_api(self) -> bool:
        return self.run_signature is not None

    @property
    def run_is_async(self) -> bool:
        return "run_api_async" in self.methods

    @property
    def endpoint(self) -> str:
        return f"/{self.name}/run"


class Registry:
    """What one server has deployed: one versioned entry per pipeline, swapped atomically."""

    def __init__(self) -> None:
        self._pipelines: dict[str, DeployedPipeline] = {}
        self._errors: dict[str, str] = {}
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self.version = 0
        _live.add(self)  # for the process-wide view that Hayhooks 2.1.0 code reads (``process_registry``)

    # --- reads ---------------------------------------------------------------------------------------------
    def get(self, name: str) -> DeployedPipeline | None:
        return self._pipelines.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._pipelines

    def names(self) -> list[str]:
        return list(self._pipelines)

    def all(self) -> list[DeployedPipeline]:
        return list(self._pipelines.values())

    def errors(self) -> dict[str, str]:
        return dict(self._errors)

    # --- writes --------------------------------------------------------------------------------------------
    def put(self, pipeline: DeployedPipeline) -> DeployedPipeline | None:
        with self._lock:
            previous = self._pipelines.get(pipeline.name)
            self._pipelines[pipeline.name] = pipeline
            self._errors.pop(pipeline.name, None)
            self.version += 1
        self._notify("deployed", pipeline.name)
        return previous

    def remove(self, name: str) -> DeployedPipeline | None:
        with self._lock:
            previous = self._pipelines.pop(name, None)
            self._errors.pop(name, None)
            if previous is not None:
                self.version += 1
        if previous is not None:
            self._notify("undeployed", name)
        return previous

    def set_error(self, name: str, message: str) -> None:
        with self._lock:
            self._errors[name] = message

    def clear_error(self, name: str) -> None:
        with self._lock:
            self._errors.pop(name, None)

    # --- change notification -------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event, name)`` after each deploy/undeploy; returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, event: str, name: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(event, name)
            except Exception:  # a broken listener must not undo a deploy
                logger.exception("Registry listener failed")


_live: weakref.WeakSet[Registry] = weakref.WeakSet()


def live_registries() -> list[Registry]:
    """Every ``Registry`` alive in this process (each app has its own)."""
    return list(_live)
