"""Module paths of older Hayhooks releases, still used by its docs, examples and users' wrappers.

Each old path is an alias of the module that now holds its names, not a copy::

    from hayhooks.server.utils.base_pipeline_wrapper import BasePipelineWrapper   # -> hayhooks.wrapper
    from hayhooks.server.logger import log                                       # -> hayhooks.logger

``install()`` (called by ``hayhooks/__init__.py``) appends a finder to ``sys.meta_path``. It costs nothing until an
old path is imported: Python asks it only about modules no other finder knows. An old path that maps to one
module *is* that module (``sys.modules`` holds the same object under both names); one that maps to several
gets a small module that looks each name up in them, in order. Parent packages of old paths (e.g.
``hayhooks.server.utils``) are empty packages, but for the names they exported themselves
(``from hayhooks.server.pipelines import registry``).

Names an old path needs live in the new modules; this table only says where.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence
from typing import Any

# old path -> the module(s) holding its names, searched in order.
ALIASES: dict[str, tuple[str, ...]] = {
    "hayhooks.server.logger": ("hayhooks.logger",),
    "hayhooks.server.utils.base_pipeline_wrapper": ("hayhooks.wrapper",),
    "hayhooks.server.utils.yaml_pipeline_wrapper": ("hayhooks.deploy.yaml_pipeline",),
    "hayhooks.server.utils.haystack_compat": ("hayhooks.compat",),
    "hayhooks.server.pipelines.utils": (
        "hayhooks.streaming",
        "hayhooks.messages",
        "hayhooks.coercion",
        "hayhooks.stream_setup",
    ),
    "hayhooks.server.pipelines.streaming": ("hayhooks.streaming",),
    "hayhooks.server.pipelines.sse": ("hayhooks.streaming",),
    "hayhooks.server.pipelines.registry": ("hayhooks.process_registry", "hayhooks.registry"),
    "hayhooks.server.tracing": ("hayhooks.tracing",),
    "hayhooks.server.utils.mcp_utils": ("hayhooks.server.mcp.legacy",),
    "hayhooks.server.utils.module_loader": ("hayhooks.deploy.module_loader",),
    "hayhooks.server.pipelines.loader": ("hayhooks.deploy.module_loader",),
    "hayhooks.cli.base": ("hayhooks.cli",),  # hayhooks_cli, the typer app
    "hayhooks.server.exceptions": ("hayhooks.deploy.errors",),
    "hayhooks.server.utils.deploy_utils": ("hayhooks.server.deployment",),
    "hayhooks.server.utils.yaml_utils": ("hayhooks.deploy.yaml_pipeline",),
    "hayhooks.server.utils.pipeline_paths": ("hayhooks.deploy.files",),
    # The request/response models of the routes, and each router.
    "hayhooks.server.routers.deploy": ("hayhooks.server.admin.protocol", "hayhooks.server.admin.api_router"),
    "hayhooks.server.routers.undeploy": ("hayhooks.server.admin.protocol", "hayhooks.server.admin.api_router"),
    "hayhooks.server.routers.status": ("hayhooks.server.admin.protocol", "hayhooks.server.admin.api_router"),
    "hayhooks.server.routers.openai": ("hayhooks.server.openai.protocol", "hayhooks.server.openai.api_router"),
}
# Old packages: they hold the aliased modules, and some exported a name of their own (module, attribute).
PACKAGES: dict[str, dict[str, tuple[str, str]]] = {
    "hayhooks.server.utils": {},
    "hayhooks.server.routers": {},
    "hayhooks.server.pipelines": {"registry": ("hayhooks.process_registry", "registry")},
}


class _Forwarding(types.ModuleType):
    """An old module whose names come from several new modules."""

    def __init__(self, name: str, sources: Sequence[str]) -> None:
        super().__init__(name, f"Old Hayhooks path; its names come from {', '.join(sources)}.")
        self._sources = tuple(sources)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        for source in self._sources:
            module = importlib.import_module(source)
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        names: set[str] = set()
        for source in self._sources:
            names.update(dir(importlib.import_module(source)))
        return sorted(names)


class _Package(types.ModuleType):
    """An old package. A name it exported keeps meaning that object even after the submodule of the same
    name is imported (which makes the import system set the submodule as an attribute of its package)."""

    def __init__(self, name: str, exports: dict[str, tuple[str, str]]) -> None:
        object.__setattr__(self, "_exports", exports)
        super().__init__(name, "Old Hayhooks package, kept for its aliased modules.")
        self.__path__: list[str] = []

    def __getattr__(self, name: str) -> Any:
        exports = object.__getattribute__(self, "_exports")
        if name in exports:
            module, attribute = exports[name]
            return getattr(importlib.import_module(module), attribute)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in object.__getattribute__(self, "_exports") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


class LegacyPathFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in ALIASES:
            return importlib.machinery.ModuleSpec(fullname, self)
        if fullname in PACKAGES:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def __init__(self) -> None:
        self._specs: dict[str, Any] = {}

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        sources = ALIASES.get(spec.name)
        if sources is None:
            return _Package(spec.name, PACKAGES[spec.name])
        if len(sources) == 1:
            module = importlib.import_module(sources[0])
            self._specs[spec.name] = module.__spec__  # the import system overwrites it with the alias's spec
            return module
        return _Forwarding(spec.name, sources)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run (the module was complete when ``create_module`` returned it) but to give an aliased
        module its own spec back."""
        for name, own_spec in list(self._specs.items()):
            if own_spec is not None and own_spec.name == module.__name__:
                module.__spec__ = own_spec
                del self._specs[name]


_FINDER = LegacyPathFinder()


def install() -> None:
    """Let old module paths resolve (idempotent). Last on ``sys.meta_path``: real modules always win."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)


__all__ = ["ALIASES", "PACKAGES", "LegacyPathFinder", "install"]
