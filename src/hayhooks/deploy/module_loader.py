"""Imports a wrapper folder as its own private package.

Each deployed version gets a unique package name (``_hayhooks_pipelines.p<N>_<name>``) whose ``__path__`` is
the folder, so relative imports work and two pipelines that both ship ``utils.py`` never share a module.
Absolute imports of a sibling (``import utils``, as users write when the folder is on ``sys.path``) are
mapped to the pipeline's own package by a per-package ``__import__`` placed in the modules' builtins.
"""

from __future__ import annotations

import builtins
import importlib.abc
import importlib.machinery
import importlib.util
import itertools
import re
import sys
import threading
import types
from pathlib import Path
from typing import Any

ROOT_PACKAGE = "_hayhooks_pipelines"
_counter = itertools.count(1)
# Module bodies run one at a time: Haystack resolves optional dependencies lazily at import time, and two
# threads importing the same half-initialised module is how pipelines silently went missing in parallel deploys.
IMPORT_LOCK = threading.RLock()


class _PipelinePackage:
    def __init__(self, package: str, folder: Path) -> None:
        self.package = package
        self.folder = folder
        self.local_names = self._local_top_names()
        self.builtins = self._scoped_builtins()

    def _local_top_names(self) -> frozenset[str]:
        names = set()
        for entry in self.folder.iterdir():
            if entry.suffix == ".py":
                names.add(entry.stem)
            elif entry.is_dir() and (entry / "__init__.py").exists():
                names.add(entry.name)
        return frozenset(names)

    def _scoped_builtins(self) -> dict[str, Any]:
        scoped = dict(builtins.__dict__)
        original_import = builtins.__import__
        package = self.package
        local_names = self.local_names

        def scoped_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
            if level == 0 and name:
                top = name.split(".", 1)[0]
                if top in local_names:
                    module = importlib.import_module(f"{package}.{name}")
                    if fromlist:
                        return module
                    return sys.modules[f"{package}.{top}"]
            return original_import(name, globals, locals, fromlist, level)

        scoped["__import__"] = scoped_import
        return scoped


class _ScopedLoader(importlib.machinery.SourceFileLoader):
    def __init__(self, fullname: str, path: str, package: _PipelinePackage) -> None:
        super().__init__(fullname, path)
        self._package = package

    def exec_module(self, module: types.ModuleType) -> None:
        module.__dict__["__builtins__"] = self._package.builtins
        super().exec_module(module)

    def set_data(self, path: str, data: bytes, *, _mode: int = 0o666) -> None:
        """Write no ``.pyc``: a runtime copy serves one deployed version, so no later import would read it."""


class _PipelineFinder(importlib.abc.MetaPathFinder):
    """Finds modules below a registered pipeline package, loading them with scoped builtins."""

    def __init__(self) -> None:
        self.packages: dict[str, _PipelinePackage] = {}

    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if not fullname.startswith(ROOT_PACKAGE + "."):
            return None
        parts = fullname.split(".")
        package = self.packages.get(".".join(parts[:2]))
        if package is None or len(parts) < 3:
            return None
        base = package.folder.joinpath(*parts[2:])
        if (base / "__init__.py").is_file():
            origin = base / "__init__.py"
            loader = _ScopedLoader(fullname, str(origin), package)
            return importlib.util.spec_from_file_location(
                fullname, origin, loader=loader, submodule_search_locations=[str(base)]
            )
        candidate = base.with_suffix(".py")
        if candidate.is_file():
            loader = _ScopedLoader(fullname, str(candidate), package)
            return importlib.util.spec_from_file_location(fullname, candidate, loader=loader)
        return None


_finder = _PipelineFinder()


def _install() -> None:
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
    if ROOT_PACKAGE not in sys.modules:
        root = types.ModuleType(ROOT_PACKAGE)
        root.__path__ = []  # a namespace for the per-pipeline packages
        sys.modules[ROOT_PACKAGE] = root


def load_module(name: str, folder: Path, module_file: str = "pipeline_wrapper.py") -> types.ModuleType:
    """Import ``folder/module_file`` as a fresh module of a private package; raise what the code raised."""
    safe = re.sub(r"\W", "_", name)
    package_name = f"{ROOT_PACKAGE}.p{next(_counter)}_{safe}"
    package = _PipelinePackage(package_name, folder)
    package_module = types.ModuleType(package_name)
    package_module.__path__ = [str(folder)]
    package_module.__file__ = None
    package_module.__package__ = package_name
    with IMPORT_LOCK:
        _install()
        _finder.packages[package_name] = package
        sys.modules[package_name] = package_module
        try:
            return importlib.import_module(f"{package_name}.{Path(module_file).stem}")
        except BaseException:
            unload_package(package_name)
            raise


def unload_package(package_name: str) -> None:
    """Forget every module of one deployed version (its objects live on while requests still use them)."""
    with IMPORT_LOCK:
        _finder.packages.pop(package_name, None)
        for module_name in [m for m in sys.modules if m == package_name or m.startswith(package_name + ".")]:
            sys.modules.pop(module_name, None)


def package_of(module: types.ModuleType) -> str:
    return ".".join(module.__name__.split(".")[:2])


# Hayhooks 2.1.0's names (``hayhooks.server.utils.module_loader``, ``hayhooks.server.pipelines.loader``).
REGISTRY_ROOT = ROOT_PACKAGE  # the package under which every deployed pipeline's modules live


def _packages_of(pipeline_name: str) -> list[str]:
    """The loaded packages of one pipeline's versions; ``REGISTRY_ROOT`` means every pipeline's."""
    prefix = ROOT_PACKAGE + "."
    loaded = [m for m in sys.modules if m.startswith(prefix) and m.count(".") == 1]
    if pipeline_name == REGISTRY_ROOT:
        return loaded
    pattern = re.compile(r"p\d+_" + re.escape(re.sub(r"\W", "_", pipeline_name)))
    return [m for m in loaded if pattern.fullmatch(m[len(prefix) :])]


def pipeline_modules(pipeline_name: str) -> dict[str, types.ModuleType]:
    """The modules loaded from a pipeline's folder (all its loaded versions), by module name."""
    packages = _packages_of(pipeline_name)
    return {
        name: module
        for name, module in list(sys.modules.items())
        if any(name == package or name.startswith(package + ".") for package in packages)
    }


def unload_pipeline_modules(pipeline_name: str) -> None:
    """Forget the modules of a pipeline's versions (``REGISTRY_ROOT``: of every pipeline)."""
    for package in _packages_of(pipeline_name):
        unload_package(package)


def load_pipeline_module(
    pipeline_name: str, dir_path: Path | str, *, package_name: str | None = None
) -> types.ModuleType:
    """Import ``dir_path/pipeline_wrapper.py`` as a new version of ``pipeline_name`` (``package_name`` is not
    used: every version gets a package of its own)."""
    return load_module(pipeline_name, Path(dir_path))
