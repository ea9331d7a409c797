"""Issue point 2: a wrapper pipeline is a folder; its other files (YAML, helper modules) work as users write them."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import write_wrapper

CHAIN_YAML = """\
components:
  upper:
    type: test_components.Upper
    init_parameters: {}
  suffix:
    type: test_components.Suffix
    init_parameters:
      suffix: "?"
connections:
- sender: upper.text
  receiver: suffix.text
"""

# Loads a YAML next to itself, imports a helper absolutely and relatively, and a helper sub-package.
FOLDER_WRAPPER = """\
from pathlib import Path

from haystack import Pipeline

import utils
from .utils import shout
from helpers.names import who
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = Pipeline.loads((Path(__file__).parent / "chain.yml").read_text())

    def run_api(self, text: str) -> dict:
        out = self.pipeline.run({"upper": {"text": text}})
        return {"pipeline": out["suffix"]["text"], "absolute": utils.TAG, "relative": shout(text), "sub": who()}
"""


def test_folder_with_yaml_and_helper_modules(tmp_path: Path, app_client) -> None:
    pipelines = tmp_path / "pipelines"
    folder = write_wrapper(
        pipelines,
        "folder",
        FOLDER_WRAPPER,
        **{"chain.yml": CHAIN_YAML, "utils.py": "TAG = 'utils-of-folder'\n\ndef shout(t):\n    return t + '!!'\n"},
    )
    (folder / "helpers").mkdir()
    (folder / "helpers" / "__init__.py").write_text("")
    (folder / "helpers" / "names.py").write_text("from ..utils import TAG\n\ndef who():\n    return 'helpers:' + TAG\n")

    with app_client(pipelines) as client:
        assert client.get("/status").json()["pipelines"] == ["folder"]
        response = client.post("/folder/run", json={"text": "hi"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "result": {
            "pipeline": "HI?",
            "absolute": "utils-of-folder",
            "relative": "hi!!",
            "sub": "helpers:utils-of-folder",
        }
    }


def _counting_wrapper(count_file: Path, label: str) -> str:
    return f"""\
from pathlib import Path

from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        with open({str(count_file)!r}, "a") as f:
            f.write("{label}\\n")
        self.label = "{label}"

    def run_api(self) -> str:
        return self.label
"""


def test_setup_runs_once_per_deploy(tmp_path: Path, app_client) -> None:
    pipelines = tmp_path / "pipelines"
    count_file = tmp_path / "setup-calls.txt"
    write_wrapper(pipelines, "counted", _counting_wrapper(count_file, "v1"))
    with app_client(pipelines) as client:
        for _ in range(5):
            assert client.post("/counted/run", json={}).json() == {"result": "v1"}
        assert count_file.read_text().split() == ["v1"]

        # A runtime redeploy is a new deploy: its setup runs once more, and only for the new version.
        files = {"pipeline_wrapper.py": _counting_wrapper(count_file, "v2")}
        deployed = client.post("/deploy_files", json={"name": "counted", "files": files, "overwrite": True})
        assert deployed.status_code == 200, deployed.text
        for _ in range(5):
            assert client.post("/counted/run", json={}).json() == {"result": "v2"}
    assert count_file.read_text().split() == ["v1", "v2"]


def _same_utils_wrapper() -> str:
    return """\
import utils
from .utils import NAME as RELATIVE_NAME
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.calls = utils.register()

    def run_api(self) -> dict:
        return {"absolute": utils.NAME, "relative": RELATIVE_NAME, "module_file": utils.__file__,
                "registered": utils.REGISTERED}
"""


def test_pipelines_with_same_helper_name_do_not_share_it(tmp_path: Path, app_client) -> None:
    pipelines = tmp_path / "pipelines"
    for name in ("alpha", "beta"):
        write_wrapper(
            pipelines,
            name,
            _same_utils_wrapper(),
            **{"utils.py": f"NAME = {name!r}\nREGISTERED = []\n\ndef register():\n    REGISTERED.append({name!r})\n"},
        )
    with app_client(pipelines, startup_deploy_strategy="parallel", startup_deploy_workers=2) as client:
        alpha = client.post("/alpha/run", json={}).json()["result"]
        beta = client.post("/beta/run", json={}).json()["result"]
    assert (alpha["absolute"], alpha["relative"], alpha["registered"]) == ("alpha", "alpha", ["alpha"])
    assert (beta["absolute"], beta["relative"], beta["registered"]) == ("beta", "beta", ["beta"])
    assert alpha["module_file"] != beta["module_file"]
    # Nothing leaked into the global module namespace under the bare name.
    leaked = sys.modules.get("utils")
    assert leaked is None or getattr(leaked, "NAME", None) not in ("alpha", "beta")


def test_redeploy_picks_up_changed_helper(tmp_path: Path, app_client) -> None:
    """A new version of a folder gets its own copy of helper modules, not the cached old one."""
    pipelines = tmp_path / "pipelines"
    wrapper = (
        "import utils\nfrom hayhooks import BasePipelineWrapper\n\n\nclass PipelineWrapper(BasePipelineWrapper):\n"
        "    def setup(self):\n        pass\n\n    def run_api(self) -> str:\n        return utils.VALUE\n"
    )
    with app_client(pipelines) as client:
        for value in ("one", "two"):
            files = {"pipeline_wrapper.py": wrapper, "utils.py": f"VALUE = {value!r}\n"}
            response = client.post("/deploy_files", json={"name": "helper", "files": files, "overwrite": True})
            assert response.status_code == 200, response.text
            assert client.post("/helper/run", json={}).json() == {"result": value}


def test_folder_without_pipeline_wrapper_class_is_reported(tmp_path: Path, app_client) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "noclass", "class Something:\n    pass\n")
    with app_client(pipelines) as client:
        status = client.get("/status").json()
    assert "noclass" not in status["pipelines"]
    assert "PipelineWrapper" in status["errors"]["noclass"]
