"""Every durable route and DurableContext method over HTTP, on the embedded SQLite store, in memory and on a
real redis-server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import write_wrapper
from durable_support import SYNC_WRAPPER, job_wrapper, sse_events, wait_status
from redis_support import RedisServer

FAST = {"durable_poll_interval_seconds": 0.05, "durable_lease_duration_ms": 3000, "durable_lease_commit_safety_ms": 100}


@pytest.fixture(params=["sqlite", "memory", "redis"])
def durable_client(request, app_client, tmp_path: Path):
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "job", job_wrapper())
    write_wrapper(pipelines, "sync_job", SYNC_WRAPPER)
    extra = {}
    redis = None
    if request.param == "redis":
        redis = RedisServer(tmp_path / "redis").start()
        extra["durable_redis_url"] = redis.url
    try:
        with app_client(pipelines, durable_store=request.param, **FAST, **extra) as client:
            yield client
    finally:
        if redis is not None:
            redis.stop()


def submit(client, body, **headers):
    response = client.post("/job/run-durable", json=body, headers=headers)
    assert response.status_code in (200, 202), response.text
    return response


def test_submit_returns_202_with_location_and_completes(durable_client):
    response = submit(durable_client, {"n": 3})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert response.headers["location"] == f"/job/executions/{body['execution_id']}"
    assert body["links"]["stream"] == f"/job/executions/{body['execution_id']}/stream"
    done = wait_status(durable_client, response.headers["location"], {"completed"})
    assert done["result"] == {"value": 7, "attempt": 1, "approved": None, "note": "", "state": {"starts": 1}}
    kinds = [event["kind"] for event in done["progress"]]
    assert kinds == ["progress", "checkpoint"]
    assert done["progress"][0]["metadata"] == {"n": 3}
    assert done["progress"][1]["message"] == "Checkpoint saved before pipeline component 'gate'"


def test_sync_wrapper_runs_in_a_thread_with_its_context(durable_client):
    response = durable_client.post("/sync_job/run-durable", json={"text": "hi"})
    assert response.status_code == 202
    done = wait_status(durable_client, response.headers["location"], {"completed"})
    assert done["result"] == {"upper": "HI", "same_context": True}
    assert done["progress"][0]["kind"] == "step"


def test_idempotency_key_replays_and_conflicts(durable_client):
    first = submit(durable_client, {"n": 1}, **{"Idempotency-Key": "k1"})
    again = submit(durable_client, {"n": 1}, **{"Idempotency-Key": "k1"})
    assert again.status_code == 200
    assert again.headers["idempotent-replay"] == "true"
    assert again.json()["execution_id"] == first.json()["execution_id"]
    assert again.headers["location"] == first.headers["location"]
    other = durable_client.post("/job/run-durable", json={"n": 2}, headers={"Idempotency-Key": "k1"})
    assert other.status_code == 409
    assert other.json() == {"detail": "idempotency key is bound to different work"}


def test_bad_body_is_422_naming_the_field(durable_client):
    response = durable_client.post("/job/run-durable", json={"n": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "n"]
    assert durable_client.post("/job/run-durable", content=b"{nope").status_code == 422


def test_unknown_pipeline_and_execution_are_404(durable_client):
    assert durable_client.post("/nope/run-durable", json={}).status_code == 404
    missing = durable_client.get("/job/executions/does-not-exist")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Execution not found"}


def test_human_in_the_loop_suspend_and_resume(durable_client):
    location = submit(durable_client, {"n": 2, "approve": True}).headers["location"]
    waiting = wait_status(durable_client, location, {"waiting"})
    assert waiting["waiting"] == {"kind": "approval", "question": "double 2?"}
    bad = durable_client.post(location + "/resume", json={"nope": 1})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "approved"]
    resumed = durable_client.post(location + "/resume", json={"approved": True, "note": "ok"})
    assert resumed.status_code == 202
    assert resumed.json()["waiting"] is None
    done = wait_status(durable_client, location, {"completed"})
    assert done["result"]["approved"] is True and done["result"]["note"] == "ok"
    assert done["result"]["state"] == {"starts": 2}  # state saved before suspending came back
    assert done["attempt"] == 2
    again = durable_client.post(location + "/resume", json={"approved": True})
    assert again.status_code == 409
    assert again.json() == {"detail": "only waiting executions can resume"}


def test_cancel_running_queued_and_finished(durable_client):
    location = submit(durable_client, {"n": 1, "sleep": 30}).headers["location"]
    wait_status(durable_client, location, {"running"})
    response = durable_client.post(location + "/cancel", json={"reason": "stop"})
    assert response.status_code == 202
    assert response.json()["cancellation_requested_at"] is not None
    done = wait_status(durable_client, location, {"canceled"})
    assert done["result"] is None
    final = durable_client.post(location + "/cancel")
    assert final.status_code == 200 and final.json()["status"] == "canceled"
    waiting = submit(durable_client, {"n": 1, "approve": True}).headers["location"]
    wait_status(durable_client, waiting, {"waiting"})
    assert durable_client.post(waiting + "/cancel").json()["status"] == "canceled"


def test_failure_hides_the_message_and_retry_budget(durable_client):
    failed = wait_status(durable_client, submit(durable_client, {"fail": True}).headers["location"], {"failed"})
    assert failed["error"] == {
        "type": "ValueError",
        "message": "Durable execution failed",
        "retryable": False,
        "code": None,
    }
    retried = wait_status(durable_client, submit(durable_client, {"retry_times": 1}).headers["location"], {"completed"})
    assert retried["attempt"] == 2
    assert [e["kind"] for e in retried["progress"]].count("retry") == 1
    exhausted = submit(durable_client, {"retry_times": 5}).headers["location"]
    body = wait_status(durable_client, exhausted, {"failed"})
    assert body["error"]["code"] == "retries_exhausted"


def test_stream_replays_chunks_then_final_event_and_resumes_from_last_event_id(durable_client):
    location = submit(durable_client, {"n": 1, "chunks": 3}).headers["location"]
    wait_status(durable_client, location, {"completed"})
    response = durable_client.get(location + "/stream")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    chunks = [e for e in events if e.get("event") == "chunk"]
    assert [e["data"] for e in chunks] == [
        '{"attempt":1,"payload":{"i":0}}',
        '{"attempt":1,"payload":{"i":1}}',
        '{"attempt":1,"payload":{"i":2}}',
    ]
    assert events[-1]["event"] == "completed"
    resumed = sse_events(durable_client.get(location + "/stream", headers={"Last-Event-ID": chunks[0]["id"]}).text)
    assert [e["id"] for e in resumed if e.get("event") == "chunk"] == [chunks[1]["id"], chunks[2]["id"]]
    bad = durable_client.get(location + "/stream", headers={"Last-Event-ID": "1"})
    assert bad.status_code == 422


def test_list_executions_newest_first(durable_client):
    ids = [submit(durable_client, {"n": i}).json()["execution_id"] for i in range(3)]
    page = durable_client.get("/job/executions", params={"limit": 2}).json()
    assert [e["execution_id"] for e in page["executions"]] == ids[::-1][:2]
    assert page["has_more"] is True
    rest = durable_client.get("/job/executions", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [e["execution_id"] for e in rest["executions"]] == ids[:1]
    assert rest["executions"][0]["deployment"] == "job" and rest["executions"][0]["revision"] == "rev-1"


def test_stream_follows_a_running_execution_live(durable_client):
    location = submit(durable_client, {"n": 1, "chunks": 2, "sleep": 0.5}).headers["location"]
    events = sse_events(durable_client.get(location + "/stream").text)  # opened while it runs
    assert [e.get("event") for e in events] == ["chunk", "chunk", "completed"]
    assert '"status":"completed"' in events[-1]["data"]


def test_size_and_count_caps(app_client, tmp_path: Path):
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "job", job_wrapper())
    caps = {"durable_max_payload_bytes": 200, "durable_max_nonterminal_executions": 2}
    with app_client(pipelines, durable_store="memory", durable_poll_interval_seconds=0.05, **caps) as client:
        big = client.post("/job/run-durable", json={"n": 1, "log": "x" * 500})
        assert big.status_code == 413
        assert "HAYHOOKS_DURABLE_MAX_PAYLOAD_BYTES" in big.json()["detail"]
        for _ in range(2):
            assert client.post("/job/run-durable", json={"approve": True}).status_code == 202
        time.sleep(0.3)  # the unfinished count is read at most every 0.25 s
        full = client.post("/job/run-durable", json={"n": 1})
        assert full.status_code == 429
        assert "HAYHOOKS_DURABLE_MAX_NONTERMINAL_EXECUTIONS" in full.json()["detail"]
