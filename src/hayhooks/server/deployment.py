"""Deploy and undeploy from Python code, with Hayhooks 2.1.0's function names (``hayhooks.server.utils.deploy_utils``).

Each function goes through the same ``DeployService`` as the HTTP routes, with the same checks and errors
(``hayhooks.deploy.errors``; 2.1.0's names for them are in ``hayhooks.server.exceptions``)::

    app = create_app()
    deploy_pipeline_files("chat", read_pipeline_files_from_dir(Path("pipelines/chat")), app=app)

With ``app=`` the pipeline is served by that app at once. Without it, it goes to this process's own deployment:
a registry that ``hayhooks.server.pipelines.registry.registry`` and the MCP helpers of
``hayhooks.server.utils.mcp_utils`` read, but that no app serves over HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from hayhooks.deploy import files as pf
from hayhooks.deploy.service import DeployService
from hayhooks.registry import Registry
from hayhooks.settings import get_settings

_default: DeployService | None = None
_default_guard = threading.Lock()


def _process_deployer() -> DeployService:
    global _default
    with _default_guard:
        if _default is None:
            _default = DeployService(get_settings(), Registry())
        return _default


def deployer_of(app: FastAPI | None) -> DeployService:
    """The deploy service of ``app`` (built by ``create_app()``), or this process's own when ``app`` is None."""
    if app is None:
        return _process_deployer()
    state = getattr(app.state, "hayhooks", None)
    if state is None:
        raise TypeError("app must be built by hayhooks.server.app.create_app()")
    return state.deployer


def deploy_pipeline_files(
    pipeline_name: str,
    files: Mapping[str, str],
    app: FastAPI | None = None,
    save_files: bool = True,
    overwrite: bool = False,
) -> dict[str, str]:
    """Deploy a wrapper pipeline from its files (``pipeline_wrapper.py`` and the rest, by relative path)."""
    deployer_of(app).deploy_files(pipeline_name, files, overwrite=overwrite, save_files=save_files)
    return {"name": pipeline_name}


def deploy_pipeline_yaml(
    pipeline_name: str,
    source_code: str,
    app: FastAPI | None = None,
    overwrite: bool = False,
    options: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Deploy a YAML pipeline. ``options`` as in 2.1.0: ``save_file``, ``description``, ``skip_mcp``."""
    options = dict(options or {})
    deployer_of(app).deploy_yaml(
        pipeline_name,
        source_code,
        overwrite=overwrite,
        save_file=bool(options.get("save_file", True)),
        description=options.get("description"),
        skip_mcp=bool(options.get("skip_mcp", False)),
    )
    return {"name": pipeline_name}


def undeploy_pipeline(pipeline_name: str, app: FastAPI | None = None) -> None:
    """Remove a deployed pipeline (and what a deploy request saved for it; an operator's files stay)."""
    deployer_of(app).undeploy(pipeline_name)


def deploy_pipelines(app: FastAPI | None = None) -> list[str]:
    """Deploy everything in the pipelines dir; returns the names deployed (broken pipelines are logged)."""
    return deployer_of(app).deploy_directory().deployed


def read_pipeline_files_from_dir(dir_path: str | Path) -> dict[str, str]:
    """The files a deploy of the folder would read, by relative path; hidden files, caches and
    ``HAYHOOKS_FILES_TO_IGNORE_PATTERNS`` left out."""
    return {
        str(rel): path.read_text(encoding="utf-8", errors="ignore") for rel, path in pf.pipeline_files(Path(dir_path))
    }


__all__ = [
    "deploy_pipeline_files",
    "deploy_pipeline_yaml",
    "deploy_pipelines",
    "deployer_of",
    "read_pipeline_files_from_dir",
    "undeploy_pipeline",
]
