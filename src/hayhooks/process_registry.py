"""``registry``: every pipeline deployed in this process, across the apps it created.

Hayhooks 2.1.0 kept one global registry (``hayhooks.server.pipelines.registry.registry``) and its users' tests
call ``registry.clear()`` / ``registry.get_names()`` on it. Here each app has its own ``Registry``; this object
reads and clears all of them, so such code keeps working.
"""

from __future__ import annotations

from typing import Any

from hayhooks.registry import DeployedPipeline, Registry, live_registries
from hayhooks.stream_setup import parse_streaming_components


class ProcessRegistry:
    """A read/clear view over every live ``Registry`` of the process."""

    def _all(self) -> list[Registry]:
        return live_registries()

    def get_names(self) -> list[str]:
        names: dict[str, None] = {}
        for registry in self._all():
            names.update(dict.fromkeys(registry.names()))
        return list(names)

    def _latest(self, name: str) -> DeployedPipeline | None:
        """``name`` as deployed most recently, if several apps have it."""
        found = [p for p in (r.get(name) for r in self._all()) if p is not None]
        return max(found, key=lambda p: p.deployed_at) if found else None

    def get(self, name: str) -> Any:
        """The wrapper deployed as ``name`` (the most recently deployed one if several apps have it)."""
        pipeline = self._latest(name)
        return pipeline.wrapper if pipeline is not None else None

    def get_metadata(self, name: str) -> dict[str, Any] | None:
        pipeline = self._latest(name)
        if pipeline is None:
            return None
        signature = pipeline.run_signature
        metadata: dict[str, Any] = {
            "description": pipeline.description,
            "skip_mcp": pipeline.skip_mcp,
            "version": pipeline.version,
            "request_model": signature.request_model if signature is not None else None,
        }
        if pipeline.kind == "yaml":
            metadata["streaming_components"] = parse_streaming_components(pipeline.streaming_components)
        include_outputs_from = getattr(pipeline.wrapper, "include_outputs_from", None)  # YAML pipelines
        if include_outputs_from is not None:
            metadata["include_outputs_from"] = set(include_outputs_from)
        return metadata

    def remove(self, name: str) -> None:
        for registry in self._all():
            registry.remove(name)

    def clear(self) -> None:
        for registry in self._all():
            for name in registry.names():
                registry.remove(name)

    def __contains__(self, name: str) -> bool:
        return any(name in registry for registry in self._all())

    def __repr__(self) -> str:
        return f"ProcessRegistry(pipelines={self.get_names()!r})"


registry = ProcessRegistry()

__all__ = ["ProcessRegistry", "registry"]
