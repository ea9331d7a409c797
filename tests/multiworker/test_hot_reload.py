"""Hot reload in one worker (the app in-process, watcher thread running): changes made on disk by anyone."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from conftest import write_wrapper, write_yaml

from hayhooks.deploy import files as pf

WRAPPER = """
from hayhooks import BasePipelineWrapper

class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self, text: str) -> str:
        return "{tag}:" + text
"""

YAML = """
components:
  suffix:
    type: test_components.Suffix
    init_parameters:
      suffix: "{suffix}"
connections: []
inputs:
  text: suffix.text
outputs:
  text: suffix.text
"""


def shout(client, text: str = "a"):
    return client.post("/shout/run", json={"text": text}).json()["result"]["suffix"]["text"]


CONVERGE_SECONDS = 2.0


def wait_for(client, name: str, predicate, timeout: float = CONVERGE_SECONDS) -> dict:
    """Poll ``/status`` until ``predicate(status_json)``; returns the last status."""
    deadline = time.monotonic() + timeout
    while True:
        status = client.get("/status").json()
        if predicate(status) or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


def version_in(status: dict, name: str) -> str | None:
    return next((p["version"] for p in status["details"] if p["name"] == name), None)


def test_edit_add_and_remove_on_disk(app_client, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    folder = write_wrapper(pipelines, "echo", WRAPPER.format(tag="v1"))
    with app_client(pipelines, watch_pipelines_dir=True) as client:
        assert client.post("/echo/run", json={"text": "x"}).json() == {"result": "v1:x"}

        write_wrapper(pipelines, "echo", WRAPPER.format(tag="v2"))
        want = pf.folder_version(folder)
        status = wait_for(client, "echo", lambda s: version_in(s, "echo") == want)
        assert version_in(status, "echo") == want
        assert client.post("/echo/run", json={"text": "x"}).json() == {"result": "v2:x"}

        write_yaml(pipelines, "shout", YAML.format(suffix="!"))
        status = wait_for(client, "shout", lambda s: "shout" in s["pipelines"])
        assert "shout" in status["pipelines"]

        shutil.rmtree(folder)
        status = wait_for(client, "echo", lambda s: "echo" not in s["pipelines"])
        assert status["pipelines"] == ["shout"]
        assert client.post("/echo/run", json={"text": "x"}).status_code == 404


def test_a_broken_edit_keeps_the_old_version_and_is_reported(app_client, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    folder = write_wrapper(pipelines, "echo", WRAPPER.format(tag="ok"))
    with app_client(pipelines, watch_pipelines_dir=True) as client:
        good = client.get("/status/echo").json()["version"]
        (folder / "pipeline_wrapper.py").write_text("this is not python(\n")
        status = wait_for(client, "echo", lambda s: "echo" in s["errors"])
        assert "echo" in status["errors"], status
        assert version_in(status, "echo") == good
        one = client.get("/status/echo").json()
        assert one["version"] == good and one["error"]
        assert client.post("/echo/run", json={"text": "x"}).json() == {"result": "ok:x"}

        write_wrapper(pipelines, "echo", WRAPPER.format(tag="fixed"))
        status = wait_for(client, "echo", lambda s: not s["errors"] and version_in(s, "echo") != good)
        assert status["errors"] == {}
        assert client.post("/echo/run", json={"text": "x"}).json() == {"result": "fixed:x"}


def test_a_pipeline_saved_by_someone_else_answers_at_once(app_client, tmp_path: Path) -> None:
    """A request that arrives before the file event loads the pipeline from disk instead of answering 404."""
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    with app_client(pipelines, watch_pipelines_dir=True) as client:
        assert client.post("/late/run", json={"text": "x"}).status_code == 404
        pf.save_wrapper_folder(pipelines, "late", {pf.PurePosixPath("pipeline_wrapper.py"): WRAPPER.format(tag="l")})
        response = client.post("/late/run", json={"text": "x"})
        assert response.status_code == 200 and response.json() == {"result": "l:x"}


def test_configmap_update_swapping_the_data_symlink(app_client, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    first = pipelines / "..2024_01_01_00_00_00.000000001"
    first.mkdir()
    (first / "shout.yml").write_text(YAML.format(suffix="!"))
    (pipelines / "..data").symlink_to(first.name)
    (pipelines / "shout.yml").symlink_to("..data/shout.yml")
    with app_client(pipelines, watch_pipelines_dir=True) as client:
        assert shout(client) == "a!"

        second = pipelines / "..2024_01_01_00_01_00.000000002"
        second.mkdir()
        (second / "shout.yml").write_text(YAML.format(suffix="?"))
        (pipelines / "..data_tmp").symlink_to(second.name)
        os.replace(pipelines / "..data_tmp", pipelines / "..data")
        shutil.rmtree(first)
        want = pf.content_version((second / "shout.yml").read_text())
        status = wait_for(client, "shout", lambda s: version_in(s, "shout") == want)
        assert version_in(status, "shout") == want
        assert shout(client) == "a?"


def test_the_dir_itself_replaced_through_a_symlink(app_client, tmp_path: Path) -> None:
    release_1, release_2 = tmp_path / "release-1", tmp_path / "release-2"
    write_wrapper(release_1, "echo", WRAPPER.format(tag="r1"))
    write_wrapper(release_2, "echo", WRAPPER.format(tag="r2"))
    write_yaml(release_2, "shout", YAML.format(suffix="!"))
    current = tmp_path / "current"
    current.symlink_to(release_1)
    with app_client(current, watch_pipelines_dir=True) as client:
        assert client.post("/echo/run", json={"text": "x"}).json() == {"result": "r1:x"}
        (tmp_path / "next").symlink_to(release_2)
        os.replace(tmp_path / "next", current)
        status = wait_for(client, "shout", lambda s: sorted(s["pipelines"]) == ["echo", "shout"], timeout=5)
        assert sorted(status["pipelines"]) == ["echo", "shout"]
        assert client.post("/echo/run", json={"text": "x"}).json() == {"result": "r2:x"}


def test_every_response_names_the_worker(app_client, tmp_path: Path) -> None:
    with app_client(tmp_path / "pipelines") as client:
        for response in (client.get("/health/live"), client.get("/status"), client.post("/nope/run", json={})):
            assert response.headers["x-hayhooks-worker"] == client.get("/status").json()["worker"]
