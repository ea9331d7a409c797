"""/openapi.json documents each durable pipeline's routes with its own models, as typed operations."""

from __future__ import annotations

from pathlib import Path

from conftest import write_wrapper
from durable_support import SYNC_WRAPPER, job_wrapper, wait_status


def _resolve(document: dict, schema: dict) -> dict:
    name = schema["$ref"].rsplit("/", 1)[1]
    return document["components"]["schemas"][name]


def test_each_durable_pipeline_has_typed_durable_paths(app_client, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "job", job_wrapper())
    write_wrapper(pipelines, "sync_job", SYNC_WRAPPER)
    with app_client(pipelines, durable_store="memory") as client:
        document = client.get("/openapi.json").json()
        paths = document["paths"]
        assert not [path for path in paths if path.startswith("/{name}/")]  # listed per pipeline instead
        for name in ("job", "sync_job"):
            assert {f"/{name}/run-durable", f"/{name}/executions", f"/{name}/executions/{{execution_id}}"} <= set(paths)
            for action in ("cancel", "resume", "stream"):
                assert f"/{name}/executions/{{execution_id}}/{action}" in paths

        submit = paths["/job/run-durable"]["post"]
        request = _resolve(document, submit["requestBody"]["content"]["application/json"]["schema"])
        assert {"n", "approve", "chunks"} <= set(request["properties"])
        assert [p["name"] for p in submit["parameters"]] == ["Idempotency-Key"]
        result = _resolve(document, submit["responses"]["202"]["content"]["application/json"]["schema"])
        assert {"execution_id", "status", "links", "result"} <= set(result["properties"])
        resume = paths["/job/executions/{execution_id}/resume"]["post"]
        approval = _resolve(document, resume["requestBody"]["content"]["application/json"]["schema"])
        assert "approved" in approval["properties"]
        operation_ids = [op["operationId"] for item in paths.values() for op in item.values()]
        assert len(operation_ids) == len(set(operation_ids))

        # What the document says is what the route does: a documented body runs, its answer has the documented keys.
        accepted = client.post("/job/run-durable", json={"n": 2})
        assert accepted.status_code == 202
        assert set(accepted.json()) <= set(result["properties"])
        done = wait_status(client, accepted.headers["location"], "completed")
        assert set(done) <= set(result["properties"])


def test_the_first_document_after_startup_lists_the_startup_pipelines(app_client, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from hayhooks.server.app import create_app
    from hayhooks.settings import Settings

    pipelines = tmp_path / "pipelines"
    setup = "    def setup(self) -> None:\n"
    slow_setup = SYNC_WRAPPER.replace(setup, setup + "        time.sleep(1)\n")
    assert slow_setup != SYNC_WRAPPER
    write_wrapper(pipelines, "job", "import time\n" + slow_setup)
    app = create_app(Settings(_env_file=None, pipelines_dir=str(pipelines), durable_store="memory"))
    with TestClient(app) as client:  # no readiness wait: the very first request
        paths = client.get("/openapi.json").json()["paths"]
    assert "/job/run-durable" in paths
