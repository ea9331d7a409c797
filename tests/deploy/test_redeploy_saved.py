"""Deploying again exactly what a request already saved (the registry having forgotten it) is no conflict;
different content, or an operator's files, still are."""

from __future__ import annotations

from pathlib import Path

from conftest import write_yaml
from hayhooks.server.pipelines.registry import registry

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


def test_same_yaml_again_after_registry_clear(app_client, tmp_path: Path) -> None:
    with app_client(tmp_path / "p") as client:
        assert client.post("/deploy-yaml", json={"name": "up", "source_code": YAML}).status_code == 200
        registry.clear()
        again = client.post("/deploy-yaml", json={"name": "up", "source_code": YAML})
        assert again.status_code == 200, again.text
        assert client.post("/up/run", json={"text": "a"}).json()["result"]["upper"]["text"] == "A"
        other = client.post("/deploy-yaml", json={"name": "up", "source_code": YAML + "\n# changed\n"})
        assert other.status_code == 409  # in the registry again
        registry.clear()
        changed = client.post("/deploy-yaml", json={"name": "up", "source_code": YAML + "\n# changed\n"})
        assert changed.status_code == 409  # different content on disk
        assert client.post("/undeploy/up").status_code == 200


def test_operator_file_with_the_same_content_stays_a_conflict(app_client, tmp_path: Path) -> None:
    pipelines = tmp_path / "p"
    write_yaml(pipelines, "up", YAML)
    with app_client(pipelines) as client:
        registry.clear()
        answer = client.post("/deploy-yaml", json={"name": "up", "source_code": YAML})
        assert answer.status_code == 409


def test_same_files_again_after_registry_clear(app_client, tmp_path: Path) -> None:
    wrapper = (
        "from hayhooks import BasePipelineWrapper\n\n"
        "class PipelineWrapper(BasePipelineWrapper):\n"
        "    def setup(self):\n        pass\n\n"
        "    def run_api(self, word: str) -> str:\n        return word * 2\n"
    )
    files = {"pipeline_wrapper.py": wrapper, "notes.txt": "n"}
    with app_client(tmp_path / "p") as client:
        assert client.post("/deploy_files", json={"name": "w", "files": files}).status_code == 200
        registry.clear()
        assert client.post("/deploy_files", json={"name": "w", "files": files}).status_code == 200
        assert client.post("/w/run", json={"word": "ab"}).json()["result"] == "abab"
