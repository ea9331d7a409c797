"""Issue point 6 and the management contract: deploy, undeploy, status, 409/404/422, deploy concurrency."""

from __future__ import annotations

import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import write_wrapper


def wrapper_code(answer: str, setup_body: str = "pass") -> str:
    return f"""\
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        {setup_body}

    def run_api(self, text: str = "") -> str:
        return {answer!r} + text
"""


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


def test_deploy_files_run_status_undeploy_cycle(tmp_path: Path, app_client) -> None:
    pipelines = tmp_path / "pipelines"
    files = {"pipeline_wrapper.py": wrapper_code("hi "), "extra/data.txt": "data"}
    with app_client(pipelines) as client:
        assert client.get("/status").json()["pipelines"] == []
        response = client.post("/deploy_files", json={"name": "cycle", "files": files})
        assert response.status_code == 200
        assert response.json() == {"name": "cycle", "success": True, "endpoint": "/cycle/run"}
        assert client.post("/cycle/run", json={"text": "there"}).json() == {"result": "hi there"}

        status = client.get("/status").json()
        assert status["status"] == "Up!" and status["pipelines"] == ["cycle"]
        one = client.get("/status/cycle")
        assert one.status_code == 200
        assert one.json()["status"] == "Up!" and one.json()["pipeline"] == "cycle"
        assert (pipelines / "cycle" / "pipeline_wrapper.py").read_text() == files["pipeline_wrapper.py"]
        assert (pipelines / "cycle" / "extra" / "data.txt").read_text() == "data"

        undeployed = client.post("/undeploy/cycle")
        assert undeployed.status_code == 200
        assert undeployed.json() == {"success": True, "name": "cycle"}
        assert client.post("/cycle/run", json={}).status_code == 404
        assert client.get("/status/cycle").status_code == 404
        assert client.get("/status").json()["pipelines"] == []
        assert client.post("/undeploy/cycle").status_code == 404
    assert not (pipelines / "cycle").exists()


def test_unknown_names_are_404(tmp_path: Path, app_client) -> None:
    with app_client(tmp_path / "pipelines") as client:
        status = client.get("/status/ghost")
        undeploy = client.post("/undeploy/ghost")
    assert status.status_code == 404 and "ghost" in status.json()["detail"]
    assert undeploy.status_code == 404 and "ghost" in undeploy.json()["detail"]


def test_saved_pipelines_deploy_again_after_restart_and_unsaved_do_not(tmp_path: Path, app_client) -> None:
    pipelines = tmp_path / "pipelines"
    with app_client(pipelines) as client:
        assert (
            client.post(
                "/deploy_files", json={"name": "kept", "files": {"pipeline_wrapper.py": wrapper_code("k")}}
            ).status_code
            == 200
        )
        assert client.post("/deploy-yaml", json={"name": "keptyaml", "source_code": YAML}).status_code == 200
        unsaved = {"name": "temp", "files": {"pipeline_wrapper.py": wrapper_code("t")}, "save_files": False}
        assert client.post("/deploy_files", json=unsaved).status_code == 200
        assert (
            client.post("/deploy-yaml", json={"name": "tempyaml", "source_code": YAML, "save_file": False}).status_code
            == 200
        )
        assert sorted(client.get("/status").json()["pipelines"]) == ["kept", "keptyaml", "temp", "tempyaml"]
    assert (pipelines / "keptyaml.yml").read_text() == YAML
    assert not (pipelines / "temp").exists() and not (pipelines / "tempyaml.yml").exists()

    with app_client(pipelines) as client:  # a restart: a new app on the same pipelines dir
        assert sorted(client.get("/status").json()["pipelines"]) == ["kept", "keptyaml"]
        assert client.post("/kept/run", json={"text": "!"}).json() == {"result": "k!"}
        assert client.post("/keptyaml/run", json={"text": "y"}).json() == {"result": {"upper": {"text": "Y"}}}
        # Saved by a request, so still removable by a request after the restart.
        assert client.post("/undeploy/kept").status_code == 200
        assert client.post("/undeploy/keptyaml").status_code == 200
    assert sorted(p.name for p in pipelines.iterdir() if not p.name.startswith(".")) == []

    with app_client(pipelines) as client:
        assert client.get("/status").json()["pipelines"] == []


def test_existing_name_without_overwrite_is_409(tmp_path: Path, app_client) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "ondisk", wrapper_code("disk"))
    with app_client(pipelines) as client:
        first = {"name": "taken", "files": {"pipeline_wrapper.py": wrapper_code("one")}}
        assert client.post("/deploy_files", json=first).status_code == 200
        again = client.post("/deploy_files", json={**first, "files": {"pipeline_wrapper.py": wrapper_code("two")}})
        yaml_again = client.post("/deploy-yaml", json={"name": "taken", "source_code": YAML})
        disk = client.post(
            "/deploy_files", json={"name": "ondisk", "files": {"pipeline_wrapper.py": wrapper_code("x")}}
        )
        assert again.status_code == 409 and "overwrite" in again.json()["detail"]
        assert yaml_again.status_code == 409
        assert disk.status_code == 409
        assert client.post("/taken/run", json={}).json() == {"result": "one"}
        assert client.post("/ondisk/run", json={}).json() == {"result": "disk"}

        overwrite = client.post("/deploy-yaml", json={"name": "taken", "source_code": YAML, "overwrite": True})
        assert overwrite.status_code == 200
        assert client.post("/taken/run", json={"text": "a"}).json() == {"result": {"upper": {"text": "A"}}}
    # The YAML replaced the saved folder: one pipeline per name on disk.
    assert (pipelines / "taken.yml").exists() and not (pipelines / "taken").exists()


@pytest.mark.parametrize(
    ("route", "body", "reason"),
    [
        ("/deploy_files", {"name": "x", "files": {"utils.py": "X = 1\n"}}, "pipeline_wrapper.py"),
        ("/deploy_files", {"name": "x", "files": {"pipeline_wrapper.py": "def f(:\n"}}, "failed to load"),
        ("/deploy_files", {"name": "x", "files": {"pipeline_wrapper.py": wrapper_code("", "1 / 0")}}, "setup() failed"),
        (
            "/deploy_files",
            {"name": "x", "files": {"pipeline_wrapper.py": "class PipelineWrapper:\n    pass\n"}},
            "BasePipelineWrapper",
        ),
        (
            "/deploy_files",
            {"name": "bad/name", "files": {"pipeline_wrapper.py": wrapper_code("")}},
            "Invalid pipeline name",
        ),
        ("/deploy_files", {"name": "x", "files": {"pipeline_wrapper.py": wrapper_code(""), "../x.py": ""}}, "escape"),
        ("/deploy-yaml", {"name": "x", "source_code": "components: {}\n"}, "'inputs' or 'outputs'"),
        ("/deploy-yaml", {"name": "x", "source_code": "inputs: [\n"}, "not valid YAML"),
    ],
)
def test_deploy_failures_are_422_with_reason(tmp_path: Path, app_client, route: str, body: dict, reason: str) -> None:
    pipelines = tmp_path / "pipelines"
    with app_client(pipelines) as client:
        response = client.post(route, json=body)
        assert client.get("/status").json()["pipelines"] == []
    assert response.status_code == 422
    assert reason in response.json()["detail"]
    assert [p for p in pipelines.iterdir()] == []


def test_deploy_request_validation_is_422_naming_the_field(tmp_path: Path, app_client) -> None:
    with app_client(tmp_path / "pipelines") as client:
        response = client.post("/deploy_files", json={"name": "x"})
        wrong = client.post("/deploy-yaml", json={"name": "x", "source_code": 5})
    assert response.status_code == 422
    assert ["body", "files"] in [e["loc"] for e in response.json()["detail"]]
    assert wrong.status_code == 422
    assert ["body", "source_code"] in [e["loc"] for e in wrong.json()["detail"]]


@pytest.mark.parametrize("show_tracebacks", [False, True])
def test_deploy_error_traceback_only_when_enabled(tmp_path: Path, app_client, show_tracebacks: bool) -> None:
    files = {"pipeline_wrapper.py": wrapper_code("", "raise KeyError('missing-key')")}
    with app_client(tmp_path / "pipelines", show_tracebacks=show_tracebacks) as client:
        response = client.post("/deploy_files", json={"name": "tb", "files": files})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "missing-key" in detail
    assert ("Traceback" in detail) is show_tracebacks


@pytest.fixture
def sync_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("hh_admin_sync")
    module.barrier = threading.Barrier(2, timeout=20)
    module.events = []
    module.lock = threading.Lock()
    monkeypatch.setitem(sys.modules, "hh_admin_sync", module)
    return module


def test_parallel_deploy_concurrency_runs_different_names_at_once(tmp_path: Path, app_client, sync_module) -> None:
    # Each setup() waits for the other one: both succeed only if the two deploys really overlap.
    setup = "import hh_admin_sync as s; s.barrier.wait()"
    with app_client(tmp_path / "pipelines", deploy_concurrency="parallel") as client, ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(
                client.post,
                "/deploy_files",
                json={"name": name, "files": {"pipeline_wrapper.py": wrapper_code(name, setup)}},
            )
            for name in ("left", "right")
        ]
        responses = [f.result(timeout=60) for f in futures]
        assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
        assert client.post("/left/run", json={}).json() == {"result": "left"}
        assert client.post("/right/run", json={}).json() == {"result": "right"}


def test_serialized_deploy_concurrency_never_overlaps_setups(tmp_path: Path, app_client, sync_module) -> None:
    setup = (
        "import hh_admin_sync as s, threading; s.events.append(('start', threading.get_ident())); "
        "import time; time.sleep(0.05); s.events.append(('end', threading.get_ident()))"
    )
    names = [f"serial{i}" for i in range(4)]
    with app_client(tmp_path / "pipelines", deploy_concurrency="serialized") as client, ThreadPoolExecutor(4) as pool:
        futures = [
            pool.submit(
                client.post, "/deploy_files", json={"name": n, "files": {"pipeline_wrapper.py": wrapper_code(n, setup)}}
            )
            for n in names
        ]
        assert [f.result(timeout=60).status_code for f in futures] == [200] * 4
        assert sorted(client.get("/status").json()["pipelines"]) == names
    kinds = [kind for kind, _ in sync_module.events]
    assert kinds == ["start", "end"] * 4
    # Each start is followed by the end of the same deploy.
    assert all(sync_module.events[i][1] == sync_module.events[i + 1][1] for i in range(0, 8, 2))


def test_legacy_deploy_route_deploys_yaml(tmp_path: Path, app_client) -> None:
    with app_client(tmp_path / "pipelines") as client:
        response = client.post("/deploy", json={"name": "legacy", "source_code": YAML})
        assert response.json() == {"name": "legacy", "success": True, "endpoint": "/legacy/run"}
        assert client.post("/legacy/run", json={"text": "q"}).json() == {"result": {"upper": {"text": "Q"}}}
