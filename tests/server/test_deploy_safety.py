"""Issue point 7: nothing is lost. Atomic overwrite, unsafe file names refused, undeploy deletes only saved files."""

from __future__ import annotations

import os
import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import write_wrapper, write_yaml


def wrapper_code(answer: str, setup_body: str = "pass") -> str:
    return f"""\
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        {setup_body}

    def run_api(self) -> str:
        return {answer!r}
"""


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file (hidden ones too) below ``folder`` with its bytes; symlinks as their target."""
    found: dict[str, bytes] = {}
    for root, dirs, files in os.walk(folder):
        for name in [*files, *dirs]:
            path = Path(root) / name
            rel = str(path.relative_to(folder))
            if path.is_symlink():
                found[rel] = b"-> " + os.readlink(path).encode()
            elif path.is_file():
                found[rel] = path.read_bytes()
    return found


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A module wrappers import to wait on events the test controls."""
    module = types.ModuleType("hh_safety_gate")
    module.entered = threading.Event()
    module.release = threading.Event()
    monkeypatch.setitem(sys.modules, "hh_safety_gate", module)
    yield module
    module.release.set()


def test_overwrite_is_atomic_old_version_serves_until_new_setup_finished(tmp_path: Path, app_client, gate) -> None:
    pipelines = tmp_path / "pipelines"
    slow_setup = "import hh_safety_gate as g; g.entered.set(); assert g.release.wait(30)"
    with app_client(pipelines) as client, ThreadPoolExecutor(1) as pool:
        first = client.post(
            "/deploy_files", json={"name": "atomic", "files": {"pipeline_wrapper.py": wrapper_code("v1")}}
        )
        assert first.status_code == 200, first.text

        files = {"pipeline_wrapper.py": wrapper_code("v2", slow_setup)}
        pending = pool.submit(client.post, "/deploy_files", json={"name": "atomic", "files": files, "overwrite": True})
        assert gate.entered.wait(30), "the new version's setup() never started"
        # The new version is in setup(): requests still get the old one, and its saved files are unchanged.
        for _ in range(5):
            assert client.post("/atomic/run", json={}).json() == {"result": "v1"}
        assert "'v1'" in (pipelines / "atomic" / "pipeline_wrapper.py").read_text()
        gate.release.set()
        assert pending.result(timeout=30).status_code == 200
        assert client.post("/atomic/run", json={}).json() == {"result": "v2"}
    assert "'v2'" in (pipelines / "atomic" / "pipeline_wrapper.py").read_text()


@pytest.mark.parametrize(
    ("bad_files", "reason"),
    [
        ({"pipeline_wrapper.py": wrapper_code("v2", "raise RuntimeError('setup exploded')")}, "setup exploded"),
        ({"pipeline_wrapper.py": "def broken(:\n"}, "SyntaxError"),
        (
            {"pipeline_wrapper.py": "import module_that_does_not_exist_anywhere\n"},
            "module_that_does_not_exist_anywhere",
        ),
        ({"pipeline_wrapper.py": "X = 1\n"}, "PipelineWrapper"),
        ({"utils.py": "X = 1\n"}, "pipeline_wrapper.py"),
    ],
)
def test_failed_overwrite_keeps_old_version_and_its_files(tmp_path: Path, app_client, bad_files, reason) -> None:
    pipelines = tmp_path / "pipelines"
    with app_client(pipelines) as client:
        good = {"pipeline_wrapper.py": wrapper_code("v1"), "notes.txt": "keep me"}
        assert client.post("/deploy_files", json={"name": "keep", "files": good}).status_code == 200
        before = snapshot(pipelines)

        response = client.post("/deploy_files", json={"name": "keep", "files": bad_files, "overwrite": True})
        assert response.status_code == 422
        assert reason in response.json()["detail"]
        assert client.post("/keep/run", json={}).json() == {"result": "v1"}
        assert client.get("/status/keep").json()["pipeline"] == "keep"
    assert snapshot(pipelines) == before


@pytest.mark.parametrize(
    "file_name",
    [
        "/etc/evil.py",
        "../evil.py",
        "sub/../../evil.py",
        "..",
        "a/./../../evil.py",
        "~/evil.py",
        "C:/evil.py",
        "a\\..\\evil.py",
        "",
    ],
)
def test_file_names_escaping_the_folder_are_refused_and_nothing_written(tmp_path: Path, app_client, file_name) -> None:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    with app_client(pipelines) as client:
        files = {"pipeline_wrapper.py": wrapper_code("x"), file_name: "print('escaped')"}
        response = client.post("/deploy_files", json={"name": "escape", "files": files})
        assert response.status_code == 422
        assert file_name in response.json()["detail"] or "file name" in response.json()["detail"].lower()
        assert client.post("/escape/run", json={}).status_code == 404
    assert list(pipelines.iterdir()) == []
    assert not (tmp_path / "evil.py").exists()


def test_path_through_symlink_inside_saved_folder_is_refused(tmp_path: Path, app_client) -> None:
    pipelines = tmp_path / "pipelines"
    outside = tmp_path / "outside"
    outside.mkdir()
    with app_client(pipelines) as client:
        files = {"pipeline_wrapper.py": wrapper_code("v1")}
        assert client.post("/deploy_files", json={"name": "linked", "files": files}).status_code == 200
        (pipelines / "linked" / "link").symlink_to(outside, target_is_directory=True)
        before = snapshot(pipelines)

        files = {"pipeline_wrapper.py": wrapper_code("v2"), "link/evil.py": "X = 1\n"}
        response = client.post("/deploy_files", json={"name": "linked", "files": files, "overwrite": True})
        assert response.status_code == 422
        assert "link/evil.py" in response.json()["detail"] or "symlink" in response.json()["detail"]
        assert client.post("/linked/run", json={}).json() == {"result": "v1"}
    assert list(outside.iterdir()) == []
    assert snapshot(pipelines) == before


@pytest.mark.parametrize("name", ["../up", "a/b", "undeploy", ".hidden", "-dash", "x" * 200, "sp ace"])
def test_bad_pipeline_names_are_refused(tmp_path: Path, app_client, name: str) -> None:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    with app_client(pipelines) as client:
        files = client.post("/deploy_files", json={"name": name, "files": {"pipeline_wrapper.py": wrapper_code("x")}})
        yaml = client.post("/deploy-yaml", json={"name": name, "source_code": "inputs: {}\n"})
    assert files.status_code == 422 and "name" in files.json()["detail"]
    assert yaml.status_code == 422 and "name" in yaml.json()["detail"]
    assert list(pipelines.iterdir()) == []
    assert not (tmp_path / "up").exists()


YAML = """\
components:
  upper:
    type: test_components.Upper
    init_parameters: {}
inputs:
  text: upper.text
outputs:
  text: upper.text
"""


def test_undeploy_never_removes_what_the_user_put_in_the_pipelines_dir(tmp_path: Path, app_client) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "handmade", wrapper_code("mine"), **{"data.txt": "precious"})
    write_yaml(pipelines, "handyaml", YAML)
    before = snapshot(pipelines)
    with app_client(pipelines) as client:
        assert client.post("/handmade/run", json={}).json() == {"result": "mine"}
        folder = client.post("/undeploy/handmade")
        yaml = client.post("/undeploy/handyaml")
        assert folder.status_code == 409 and "by hand" in folder.json()["detail"]
        assert yaml.status_code == 409
        # Still served: refusing the undeploy changed nothing.
        assert client.post("/handmade/run", json={}).json() == {"result": "mine"}
        assert client.post("/handyaml/run", json={"text": "a"}).status_code == 200

        # A runtime overwrite of a hand-made pipeline replaces the code but leaves it operator-owned.
        files = {"pipeline_wrapper.py": wrapper_code("replaced")}
        replaced = client.post("/deploy_files", json={"name": "handmade", "files": files, "overwrite": True})
        assert replaced.status_code == 200
        assert client.post("/handmade/run", json={}).json() == {"result": "replaced"}
        assert client.post("/undeploy/handmade").status_code == 409
    assert (pipelines / "handyaml.yml").read_bytes() == before["handyaml.yml"]
    assert (pipelines / "handmade" / "pipeline_wrapper.py").exists()


def test_undeploy_removes_only_the_saved_files(tmp_path: Path, app_client) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "neighbour", wrapper_code("n"))
    (pipelines / "README.txt").write_text("operator notes")
    with app_client(pipelines) as client:
        files = {"pipeline_wrapper.py": wrapper_code("saved"), "sub/helper.py": "X = 1\n"}
        assert client.post("/deploy_files", json={"name": "saved", "files": files}).status_code == 200
        assert client.post("/deploy-yaml", json={"name": "savedyaml", "source_code": YAML}).status_code == 200
        assert (pipelines / "saved" / "sub" / "helper.py").exists() and (pipelines / "savedyaml.yml").exists()
        assert client.post("/undeploy/saved").json() == {"success": True, "name": "saved"}
        assert client.post("/undeploy/savedyaml").json() == {"success": True, "name": "savedyaml"}
    assert sorted(p.name for p in pipelines.iterdir()) == ["README.txt", "neighbour"]
    assert snapshot(pipelines / "neighbour") == {"pipeline_wrapper.py": wrapper_code("n").encode()}


IN_FLIGHT = """\
from pathlib import Path

import hh_safety_gate as gate
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self, wait: bool = False) -> str:
        if wait:
            gate.entered.set()
            assert gate.release.wait(30)
        # Reads a file of its own version after the wait, as lazy-loading pipelines do.
        return (Path(__file__).parent / "answer.txt").read_text()
"""


@pytest.mark.parametrize("change", ["overwrite", "undeploy"])
def test_request_in_flight_finishes_on_its_version(tmp_path: Path, app_client, gate, change: str) -> None:
    pipelines = tmp_path / "pipelines"
    with app_client(pipelines) as client, ThreadPoolExecutor(1) as pool:
        v1 = {"pipeline_wrapper.py": IN_FLIGHT, "answer.txt": "v1"}
        assert client.post("/deploy_files", json={"name": "flight", "files": v1}).status_code == 200
        in_flight = pool.submit(client.post, "/flight/run", json={"wait": True})
        assert gate.entered.wait(30)
        if change == "overwrite":
            v2 = {"pipeline_wrapper.py": IN_FLIGHT, "answer.txt": "v2"}
            assert (
                client.post("/deploy_files", json={"name": "flight", "files": v2, "overwrite": True}).status_code == 200
            )
            assert client.post("/flight/run", json={}).json() == {"result": "v2"}
        else:
            assert client.post("/undeploy/flight").status_code == 200
            assert client.post("/flight/run", json={}).status_code == 404
        gate.release.set()
        response = in_flight.result(timeout=30)
    assert response.status_code == 200, response.text
    assert response.json() == {"result": "v1"}


WHERE = """\
import sys
from pathlib import Path

from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self) -> dict:
        return {"folder": str(Path(__file__).parent), "module": __name__}
"""


def test_replaced_and_undeployed_versions_are_released(tmp_path: Path, app_client) -> None:
    import gc

    with app_client(tmp_path / "pipelines") as client:
        files = {"pipeline_wrapper.py": WHERE}
        assert client.post("/deploy_files", json={"name": "where", "files": files}).status_code == 200
        first = client.post("/where/run", json={}).json()["result"]
        assert Path(first["folder"]).is_dir() and first["module"] in sys.modules
        assert (
            client.post("/deploy_files", json={"name": "where", "files": files, "overwrite": True}).status_code == 200
        )
        second = client.post("/where/run", json={}).json()["result"]
        assert second["folder"] != first["folder"]
        gc.collect()
        assert not Path(first["folder"]).exists() and first["module"] not in sys.modules
        assert Path(second["folder"]).is_dir()
        assert client.post("/undeploy/where").status_code == 200
        gc.collect()
        assert not Path(second["folder"]).exists() and second["module"] not in sys.modules
