"""``hayhooks.server.deployment`` (2.1.0's ``deploy_utils`` names): deploy from Python into an app, or into the
process's own registry, through the same DeployService as the routes."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_wrapper
from hayhooks.server.pipelines.registry import registry
from hayhooks.server.utils.deploy_utils import (
    deploy_pipeline_files,
    deploy_pipeline_yaml,
    deploy_pipelines,
    read_pipeline_files_from_dir,
    undeploy_pipeline,
)

from hayhooks.deploy.errors import PipelineExistsError, PipelineNotFoundError

WRAPPER = """
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, word: str) -> str:
        return word.upper()
"""

YAML = """\
components:
  upper:
    type: test_components.Upper
    init_parameters: {}
inputs:
  text: upper.text
outputs:
  upper_text: upper.text
"""


def test_deploy_into_an_app_serves_at_once(app_client, tmp_path: Path) -> None:
    source = write_wrapper(tmp_path / "src", "shout", WRAPPER, **{"notes.txt": "n"})
    (source / ".secret").write_text("x")
    files = read_pipeline_files_from_dir(source)
    assert sorted(files) == ["notes.txt", "pipeline_wrapper.py"]
    with app_client(tmp_path / "p") as client:
        app = client.app
        assert deploy_pipeline_files("shout", files, app=app, save_files=False) == {"name": "shout"}
        assert client.post("/shout/run", json={"word": "hi"}).json() == {"result": "HI"}
        with pytest.raises(PipelineExistsError):
            deploy_pipeline_files("shout", files, app=app, save_files=False)
        deploy_pipeline_yaml("up", YAML, app=app, options={"save_file": False, "description": "Upper"})
        assert client.post("/up/run", json={"text": "a"}).json()["result"] == {"upper": {"text": "A"}}
        assert registry.get_metadata("up")["description"] == "Upper"
        undeploy_pipeline("shout", app=app)
        assert client.post("/shout/run", json={"word": "hi"}).status_code == 404
        with pytest.raises(PipelineNotFoundError):
            undeploy_pipeline("shout", app=app)


def test_without_an_app_the_process_registry_holds_it(tmp_path: Path) -> None:
    files = {"pipeline_wrapper.py": WRAPPER}
    deploy_pipeline_files("solo_shout", files, save_files=False)
    try:
        assert "solo_shout" in registry.get_names()
        assert registry.get("solo_shout").run_api(word="x") == "X"
    finally:
        undeploy_pipeline("solo_shout")
    assert "solo_shout" not in registry.get_names()


def test_deploy_pipelines_deploys_the_apps_dir(app_client, tmp_path: Path) -> None:
    pipelines = tmp_path / "p"
    with app_client(pipelines) as client:
        write_wrapper(pipelines, "later", WRAPPER)
        assert deploy_pipelines(client.app) == ["later"]
        assert client.post("/later/run", json={"word": "ok"}).json() == {"result": "OK"}


def test_an_app_not_built_by_create_app_is_refused() -> None:
    from fastapi import FastAPI

    with pytest.raises(TypeError, match="create_app"):
        deploy_pipeline_files("x", {"pipeline_wrapper.py": WRAPPER}, app=FastAPI())
