"""What loading the server imports: libraries only some setups need load when first used, not at startup."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import base_env

# Rate limiting, wrapper docstrings, CLI tables, and Haystack (with PyYAML and rich, which it loads): a server
# with no pipeline deployed yet never needs them.
LAZY_MODULES = ("limits", "docstring_parser", "haystack", "yaml", "rich")

LOAD_SERVER = """\
import json, sys
import hayhooks.cli, hayhooks.process.supervisor
from hayhooks.server.app import create_app
create_app()
print(json.dumps(sorted(sys.modules)))
"""


def test_loading_the_server_leaves_optional_libraries_unloaded(tmp_path) -> None:
    env = base_env(HAYHOOKS_PIPELINES_DIR=str(tmp_path / "pipelines"))
    result = subprocess.run(
        [sys.executable, "-c", LOAD_SERVER], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert not loaded & set(LAZY_MODULES)


STATUS_WITHOUT_HAYSTACK = """\
import json, sys
from fastapi.testclient import TestClient
from hayhooks.server.app import create_app
with TestClient(create_app()) as client:
    body = client.get("/status").json()
print(json.dumps({"haystack": "haystack" in sys.modules, "deployments": body["deployments"]}))
"""

PLAIN_WRAPPER = '''
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, text: str) -> str:
        """Echo."""
        return text
'''


def test_status_of_wrappers_without_haystack_does_not_load_it(tmp_path) -> None:
    """``/status`` tells pipelines from agents without importing Haystack (about 0.3 s) for wrappers that never
    loaded it: the first ``/status`` after a start is what readiness checks and the startup bench wait for."""
    folder = tmp_path / "pipelines" / "echo"
    folder.mkdir(parents=True)
    (folder / "pipeline_wrapper.py").write_text(PLAIN_WRAPPER)
    env = base_env(HAYHOOKS_PIPELINES_DIR=str(tmp_path / "pipelines"))
    result = subprocess.run(
        [sys.executable, "-c", STATUS_WITHOUT_HAYSTACK],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])
    assert [d["name"] for d in seen["deployments"]] == ["echo"]
    assert seen["deployments"][0]["type"] == "unknown"
    assert seen["haystack"] is False
