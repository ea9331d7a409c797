"""Durable wrappers beside ordinary ones: runtime deploy, redeploy with another revision, sync routes."""

from __future__ import annotations

from pathlib import Path

from conftest import write_wrapper
from durable_support import job_wrapper, wait_status

PLAIN = """
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, text: str) -> str:
        return text[::-1]
"""


def _deploy(client, name: str, code: str):
    response = client.post(
        "/deploy_files", json={"name": name, "files": {"pipeline_wrapper.py": code}, "overwrite": True}
    )
    assert response.status_code in (200, 201), response.text
    return response


def test_runtime_deploy_beside_ordinary_pipelines_and_revision_change(app_client, tmp_path: Path):
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "plain", PLAIN)
    with app_client(pipelines, durable_store="sqlite", durable_poll_interval_seconds=0.05) as client:
        assert client.post("/plain/run", json={"text": "abc"}).json() == {"result": "cba"}
        assert client.post("/plain/run-durable", json={"text": "abc"}).status_code == 404
        _deploy(client, "job", job_wrapper("rev-1"))
        durable = client.get("/status").json()["durable"]
        assert durable["healthy"] is True and durable["store"].startswith("sqlite")
        assert durable["deployments"] == {"job": {"healthy": True, "revision": "rev-1", "running": 0}}
        location = client.post("/job/run-durable", json={"n": 2, "approve": True}).headers["location"]
        wait_status(client, location, {"waiting"})
        # Redeploy with the same revision: compatible by declaration, the execution continues.
        _deploy(client, "job", job_wrapper("rev-1").replace("A durable test job.", "Same revision, new text."))
        assert client.post(location + "/resume", json={"approved": True}).status_code == 202
        assert wait_status(client, location, {"completed"})["result"]["value"] == 5
        # A new revision: a waiting execution from rev-1 is not continued on different code.
        second = client.post("/job/run-durable", json={"n": 2, "approve": True}).headers["location"]
        wait_status(client, second, {"waiting"})
        _deploy(client, "job", job_wrapper("rev-2"))
        assert client.post(second + "/resume", json={"approved": True}).status_code == 202
        failed = wait_status(client, second, {"failed"})
        assert failed["error"]["code"] == "revision_mismatch"
        assert "rev-1" in failed["error"]["message"] and "rev-2" in failed["error"]["message"]
        fresh = client.post("/job/run-durable", json={"n": 1}).headers["location"]
        assert wait_status(client, fresh, {"completed"})["result"]["value"] == 3
        listed = client.get("/job/executions").json()["executions"]
        assert [e["revision"] for e in listed] == ["rev-2", "rev-1", "rev-1"]
        # Undeployed: the durable routes answer 404 like /run.
        assert client.post("/undeploy/job").status_code == 200
        assert client.get(fresh).status_code == 404


def test_bad_durable_wrapper_never_replaces_a_working_version(app_client, tmp_path: Path):
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "job", job_wrapper("rev-1"))
    with app_client(pipelines, durable_store="memory", durable_poll_interval_seconds=0.05) as client:
        broken = job_wrapper("rev-1").replace("request: Job", "request")
        response = client.post(
            "/deploy_files", json={"name": "job", "files": {"pipeline_wrapper.py": broken}, "overwrite": True}
        )
        assert response.status_code == 422
        assert "durable" in response.text
        location = client.post("/job/run-durable", json={"n": 1}).headers["location"]
        assert wait_status(client, location, {"completed"})["result"]["value"] == 3
