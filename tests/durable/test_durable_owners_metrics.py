"""Owners (API keys and durable_owner_id), listing with an admin key, and durable metrics."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import write_wrapper
from durable_support import job_wrapper, wait_status

OWNER_WRAPPER = """
from pydantic import BaseModel

from hayhooks import BasePipelineWrapper, DurableContext


class Req(BaseModel):
    text: str


class PipelineWrapper(BasePipelineWrapper):
    durable_revision = "owners-1"

    def setup(self) -> None:
        self.pipeline = None

    def durable_owner_id(self, request) -> str:
        return request.headers.get("x-user", "nobody")

    async def run_durable_async(self, context: DurableContext, request: Req) -> dict:
        return {"owner": context.owner_id, "text": request.text}
"""


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_executions_belong_to_the_key_that_made_them(app_client, tmp_path: Path):
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "job", job_wrapper())
    settings = {"api_keys": ["alice-key", "bob-key"], "admin_api_keys": ["root-key"], "durable_store": "memory"}
    with app_client(pipelines, durable_poll_interval_seconds=0.05, **settings) as client:
        assert client.post("/job/run-durable", json={"n": 1}).status_code == 401
        response = client.post("/job/run-durable", json={"n": 1}, headers=_auth("alice-key"))
        location = response.headers["location"]
        assert client.get(location).status_code == 401
        client.headers.update(_auth("alice-key"))
        assert wait_status(client, location, {"completed"})["result"]["value"] == 3
        client.headers.pop("Authorization")
        for path in ("", "/stream"):
            assert client.get(location + path, headers=_auth("bob-key")).status_code == 404
        assert client.post(location + "/cancel", headers=_auth("bob-key")).status_code == 404
        assert client.post(location + "/resume", json={"approved": True}, headers=_auth("bob-key")).status_code == 404
        # The same idempotency key from another owner is another execution, not a replay of alice's.
        alice = client.post("/job/run-durable", json={"n": 2}, headers={**_auth("alice-key"), "Idempotency-Key": "k"})
        bob = client.post("/job/run-durable", json={"n": 3}, headers={**_auth("bob-key"), "Idempotency-Key": "k"})
        assert alice.status_code == bob.status_code == 202
        listing = client.get("/job/executions", headers=_auth("alice-key"))
        assert listing.status_code == 403
        everything = client.get("/job/executions", headers=_auth("root-key")).json()["executions"]
        assert len(everything) == 3
        assert client.get(location, headers=_auth("root-key")).status_code == 200


def test_wrapper_durable_owner_id(app_client, tmp_path: Path):
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "mine", OWNER_WRAPPER)
    with app_client(pipelines, durable_store="memory", durable_poll_interval_seconds=0.05) as client:
        location = client.post("/mine/run-durable", json={"text": "x"}, headers={"x-user": "ann"}).headers["location"]
        assert client.get(location, headers={"x-user": "ben"}).status_code == 404
        client.headers["x-user"] = "ann"
        assert wait_status(client, location, {"completed"})["result"] == {"owner": "ann", "text": "x"}


def test_metrics_show_executions_by_status_and_attempts(app_client, tmp_path: Path):
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "job", job_wrapper())
    fast = {"durable_poll_interval_seconds": 0.05, "durable_maintenance_interval_seconds": 0.1}
    with app_client(pipelines, durable_store="memory", **fast) as client:
        done = client.post("/job/run-durable", json={"n": 1}).headers["location"]
        waiting = client.post("/job/run-durable", json={"n": 1, "approve": True}).headers["location"]
        wait_status(client, done, {"completed"})
        wait_status(client, waiting, {"waiting"})
        deadline = time.monotonic() + 10
        text = ""
        while time.monotonic() < deadline:
            text = client.get("/metrics").text
            if 'hayhooks_durable_executions{status="waiting"} 1.0' in text:
                break
            time.sleep(0.1)
        assert 'hayhooks_durable_executions{status="completed"} 1.0' in text
        assert 'hayhooks_durable_executions{status="waiting"} 1.0' in text
        assert "hayhooks_durable_queue_depth 0.0" in text
        assert 'hayhooks_durable_attempts_total{pipeline="job"}' in text
