"""Turns pipeline sources into ready ``DeployedPipeline`` objects: load, build models, ``setup()``.

Each step raises ``InvalidPipelineError`` with a message that names the pipeline and the problem. Nothing here
touches the registry or the pipelines dir; see ``hayhooks.deploy.service`` for that.
"""

from __future__ import annotations

import atexit
import inspect
import os
import shutil
import tempfile
import threading
import traceback
import uuid
import weakref
from pathlib import Path
from typing import Any

from hayhooks.deploy import files as pipeline_files
from hayhooks.deploy.errors import InvalidPipelineError
from hayhooks.deploy.module_loader import load_module, package_of, unload_package
from hayhooks.deploy.yaml_pipeline import YAMLPipelineWrapper, parse_yaml
from hayhooks.registry import DeployedPipeline
from hayhooks.signature import HeadersParameterError, RunSignature, build_run_signature, wants_headers
from hayhooks.wrapper import BasePipelineWrapper, implemented_methods

_runtime_root: Path | None = None
_runtime_root_lock = threading.Lock()


def runtime_root() -> Path:
    """Private per-process folder holding the copy of each deployed wrapper version.

    Modules are imported from this copy, so edits in the pipelines dir never change code under a running
    version, and a version's files stay where its ``__file__`` says for as long as it serves.
    """
    global _runtime_root
    with _runtime_root_lock:  # deploy threads ask for it at once
        if _runtime_root is None:
            _runtime_root = Path(tempfile.mkdtemp(prefix=f"hayhooks-runtime-{os.getpid()}-"))
            atexit.register(shutil.rmtree, _runtime_root, True)
        return _runtime_root


def new_runtime_dir(name: str) -> Path:
    path = runtime_root() / f"{name}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path


def _error_text(exc: BaseException, show_traceback: bool) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if show_traceback:
        text += "\n" + "".join(traceback.format_exception(exc))
    return text


def _find_wrapper_class(name: str, module: Any) -> type[BasePipelineWrapper]:
    wrapper_cls = getattr(module, "PipelineWrapper", None)
    if not (inspect.isclass(wrapper_cls) and issubclass(wrapper_cls, BasePipelineWrapper)):
        raise InvalidPipelineError(
            f"Pipeline '{name}': pipeline_wrapper.py must define `class PipelineWrapper(BasePipelineWrapper)`."
        )
    return wrapper_cls


def _own_docstring(cls: type) -> str:
    """The class's own docstring (not one inherited from ``BasePipelineWrapper``)."""
    return inspect.cleandoc(cls.__dict__.get("__doc__") or "")


def _run_setup(name: str, wrapper: BasePipelineWrapper, show_traceback: bool) -> None:
    try:
        wrapper.setup()
    except InvalidPipelineError:
        raise
    except Exception as exc:
        raise InvalidPipelineError(f"Pipeline '{name}': setup() failed: {_error_text(exc, show_traceback)}") from exc


def _signature_for(name: str, wrapper: BasePipelineWrapper, methods: frozenset[str]) -> RunSignature | None:
    if isinstance(wrapper, YAMLPipelineWrapper):
        return wrapper.run_signature()
    method_name = "run_api_async" if "run_api_async" in methods else "run_api" if "run_api" in methods else None
    if method_name is None:
        return None
    try:
        return build_run_signature(name, getattr(wrapper, method_name))
    except Exception as exc:
        raise InvalidPipelineError(
            f"Pipeline '{name}': cannot build a request model from {method_name}(): {exc}"
        ) from exc


_RUN_METHODS = (
    "run_api",
    "run_api_async",
    "run_chat_completion",
    "run_chat_completion_async",
    "run_response",
    "run_response_async",
)


_DURABLE_METHODS = ("run_durable", "run_durable_async")


def _check_serves_something(name: str, methods: frozenset[str]) -> None:
    """A wrapper must serve at least one route (Hayhooks refuses it with 422 too); a durable one counts."""
    serving = _RUN_METHODS + _DURABLE_METHODS
    if not methods.intersection(serving):
        listed = ", ".join(serving[:-1]) + f" or {serving[-1]}"
        raise InvalidPipelineError(f"Pipeline '{name}': its PipelineWrapper must implement at least one of {listed}.")


def _header_methods(name: str, wrapper: BasePipelineWrapper, methods: frozenset[str]) -> frozenset[str]:
    try:
        return frozenset(m for m in methods if m in _RUN_METHODS and wants_headers(m, getattr(wrapper, m)))
    except HeadersParameterError as exc:
        raise InvalidPipelineError(f"Pipeline '{name}': {exc}") from exc


def _durable_state(name: str, wrapper: BasePipelineWrapper, methods: frozenset[str]) -> dict[str, Any]:
    """A durable wrapper's spec, checked now so a broken one never replaces a working version."""
    if not methods.intersection(_DURABLE_METHODS):
        return {}
    from hayhooks.durable.spec import build_spec

    try:
        return {"durable": build_spec(wrapper)}
    except Exception as exc:
        raise InvalidPipelineError(f"Pipeline '{name}': invalid durable wrapper: {exc}") from exc


def _limits(wrapper: Any, options: dict[str, Any]) -> dict[str, Any]:
    keys = ("request_timeout", "max_concurrent_runs", "max_queued_runs", "streaming_components")
    return {key: options.get(key, getattr(wrapper, key, None)) for key in keys}


def load_wrapper_folder(
    name: str, runtime_dir: Path, *, version: str, source: str = "directory", show_traceback: bool = False
) -> DeployedPipeline:
    """Import ``runtime_dir/pipeline_wrapper.py``, instantiate ``PipelineWrapper`` and run ``setup()``."""
    if not (runtime_dir / pipeline_files.WRAPPER_FILE).is_file():
        raise InvalidPipelineError(f"Pipeline '{name}' has no {pipeline_files.WRAPPER_FILE}.")
    try:
        module = load_module(name, runtime_dir)
    except Exception as exc:
        raise InvalidPipelineError(
            f"Pipeline '{name}': pipeline_wrapper.py failed to load: {_error_text(exc, show_traceback)}"
        ) from exc
    package = package_of(module)
    try:
        wrapper_cls = _find_wrapper_class(name, module)
        try:
            wrapper = wrapper_cls()
        except Exception as exc:
            raise InvalidPipelineError(
                f"Pipeline '{name}': PipelineWrapper() failed: {_error_text(exc, show_traceback)}"
            ) from exc
        _run_setup(name, wrapper, show_traceback)  # first, as Hayhooks does: a failing setup() is the news
        methods = implemented_methods(wrapper_cls)
        _check_serves_something(name, methods)
        header_methods = _header_methods(name, wrapper, methods)
        signature = _signature_for(name, wrapper, methods)
        state = _durable_state(name, wrapper, methods)
        return DeployedPipeline(
            name=name,
            kind="wrapper",
            wrapper=wrapper,
            version=version,
            methods=methods,
            run_signature=signature,
            description=(signature.description if signature else "") or _own_docstring(wrapper_cls),
            skip_mcp=bool(getattr(wrapper_cls, "skip_mcp", False)),
            source=source,  # type: ignore[arg-type]
            runtime_dir=runtime_dir,
            package_name=package,
            header_methods=header_methods,
            state=state,
            **_limits(wrapper, {}),
        )
    except BaseException:
        unload_package(package)
        raise


def load_yaml_source(
    name: str,
    source_code: str,
    *,
    source: str = "directory",
    description: str | None = None,
    show_traceback: bool = False,
) -> DeployedPipeline:
    definition = parse_yaml(name, source_code)
    wrapper = YAMLPipelineWrapper(name, definition)
    _run_setup(name, wrapper, show_traceback)
    signature = wrapper.run_signature()
    return DeployedPipeline(
        name=name,
        kind="yaml",
        wrapper=wrapper,
        version=pipeline_files.content_version(source_code),
        methods=frozenset({"run_api"}),
        run_signature=signature,
        description=description or signature.description,
        source=source,  # type: ignore[arg-type]
        **_limits(wrapper, definition.options),
    )


def _release(package_name: str | None, runtime_dir: Path | None) -> None:
    if package_name:
        unload_package(package_name)
    if runtime_dir is not None:
        shutil.rmtree(runtime_dir, ignore_errors=True)


def discard(pipeline: DeployedPipeline) -> None:
    """Release what a replaced or undeployed version held (its modules and runtime copy).

    Requests still running on this version hold its wrapper and may read its files or import its modules,
    so the release happens once the wrapper is no longer referenced by anyone.
    """
    try:
        weakref.finalize(pipeline.wrapper, _release, pipeline.package_name, pipeline.runtime_dir)
    except TypeError:  # a wrapper class with __slots__ and no __weakref__
        _release(pipeline.package_name, pipeline.runtime_dir)
