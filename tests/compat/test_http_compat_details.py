"""Small parts of Hayhooks 2.1.0's observable behaviour: 404 texts, the run error log line, YAML outputs
written as lists, and what ``registry.get_metadata`` tells about a YAML pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_wrapper, write_yaml
from hayhooks.server.pipelines.registry import registry

LIST_OUTPUT_YAML = """\
components:
  upper:
    type: test_components.Upper
    init_parameters: {}
  suffix:
    type: test_components.Suffix
    init_parameters:
      suffix: "!"
connections:
- sender: upper.text
  receiver: suffix.text
inputs:
  text:
    - upper.text
outputs:
  shout:
    - suffix.text
  first:
    - upper.text
"""

FAILING_WRAPPER = """
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, text: str) -> str:
        raise ValueError("broken on purpose")
"""


def test_not_found_details_are_2_1_0_texts(app_client, tmp_path: Path) -> None:
    with app_client(tmp_path / "p") as client:
        for method, path in (("get", "/status/nope"), ("post", "/undeploy/nope"), ("post", "/nope/run")):
            answer = client.request(method.upper(), path, json={} if method == "post" else None)
            assert answer.status_code == 404
            assert answer.json()["detail"] == "Pipeline 'nope' not found"


def test_yaml_outputs_written_as_lists(app_client, tmp_path: Path) -> None:
    pipelines = tmp_path / "p"
    write_yaml(pipelines, "shout", LIST_OUTPUT_YAML)
    with app_client(pipelines) as client:
        answer = client.post("/shout/run", json={"text": "hi"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"] == {"suffix": {"text": "HI!"}, "upper": {"text": "HI"}}
        metadata = registry.get_metadata("shout")
        assert metadata is not None
        assert metadata["include_outputs_from"] == {"suffix", "upper"}
        assert set(metadata["request_model"].model_fields) == {"text"}


def test_run_failure_is_logged_as_a_pipeline_execution_error(
    app_client, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    pipelines = tmp_path / "p"
    write_wrapper(pipelines, "broken", FAILING_WRAPPER)
    with app_client(pipelines) as client:
        assert client.post("/broken/run", json={"text": "x"}).status_code == 500
    log = capfd.readouterr().err  # the server's log handler writes to stderr
    assert "Pipeline execution error: pipeline 'broken' failed: broken on purpose" in log
    assert "Traceback" in log and "ValueError: broken on purpose" in log


def test_a_yaml_haystack_cannot_build_is_422_with_haystacks_message(app_client, tmp_path: Path) -> None:
    broken = LIST_OUTPUT_YAML.replace("init_parameters: {}", "init_parameters: {no_such_parameter: 1}")
    with app_client(tmp_path / "p") as client:
        answer = client.post("/deploy-yaml", json={"name": "broken", "source_code": broken})
        assert answer.status_code == 422
        assert "Couldn't deserialize component 'upper'" in answer.json()["detail"]
        assert client.get("/status/broken").status_code == 404
