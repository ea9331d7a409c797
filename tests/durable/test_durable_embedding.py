"""Durable runs embedded in a user's own FastAPI app (``DurableRuntime`` + ``create_durable_router``), driven
over HTTP in process with real stores: the same wire format as the server's ``/{name}/run-durable`` routes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from durable_support import sse_events
from embedding_support import RUNNERS, deployment_for, header_owner, user_app, wait_for
from fastapi import FastAPI, Header
from fastapi.testclient import TestClient
from redis_support import RedisServer

from hayhooks.durable import (
    DurableRuntime,
    ExecutionStore,
    MemoryExecutionStore,
    SQLiteExecutionStore,
    StoreConfig,
    create_durable_router,
)


def _store(kind: str, tmp_path: Path) -> ExecutionStore:
    if kind == "memory":
        return MemoryExecutionStore("summaries")
    return SQLiteExecutionStore(tmp_path / "durable.sqlite3", "summaries")


@pytest.mark.parametrize("runner", ["sync", "async"])
@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_submit_poll_replay_and_conflict(store: str, runner: str, tmp_path: Path) -> None:
    app = user_app(deployment_for(_store(store, tmp_path), RUNNERS[runner]))
    with TestClient(app) as client:
        response = client.post("/jobs/run-durable", json={"text": "hello"}, headers={"Idempotency-Key": "k-1"})
        assert response.status_code == 202, response.text
        body = response.json()
        location = f"/jobs/executions/{body['execution_id']}"
        assert response.headers["location"] == location
        assert "idempotent-replay" not in response.headers
        assert body["status"] == "queued"
        assert body["links"] == {
            "self": location,
            "cancel": f"{location}/cancel",
            "resume": f"{location}/resume",
            "stream": f"{location}/stream",
        }

        done = wait_for(client, location, {"completed", "failed"})
        assert done["status"] == "completed", done
        assert done["result"] == {"text": "HELLO", "attempt": 1, "approved": None, "note": "", "owner": None}
        assert [(p["kind"], p["message"], p["metadata"]) for p in done["progress"]] == [
            ("progress", "started", {"text": "hello"})
        ]

        replay = client.post("/jobs/run-durable", json={"text": "hello"}, headers={"Idempotency-Key": "k-1"})
        assert replay.status_code == 200
        assert replay.headers["idempotent-replay"] == "true"
        assert replay.headers["location"] == location
        assert replay.json()["execution_id"] == body["execution_id"]

        conflict = client.post("/jobs/run-durable", json={"text": "other"}, headers={"Idempotency-Key": "k-1"})
        assert conflict.status_code == 409
        assert "idempotency key" in conflict.json()["detail"]


def test_a_bad_body_answers_422_naming_the_field() -> None:
    app = user_app(deployment_for(MemoryExecutionStore()), owner=header_owner)
    paths = app.openapi()["paths"]
    assert set(paths) == {
        "/jobs/run-durable",
        "/jobs/executions/{execution_id}",
        "/jobs/executions/{execution_id}/cancel",
        "/jobs/executions/{execution_id}/resume",
        "/jobs/executions/{execution_id}/stream",
    }
    documented = paths["/jobs/run-durable"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert documented["required"] == ["text"]
    assert {p["name"] for p in paths["/jobs/run-durable"]["post"]["parameters"]} == {"Idempotency-Key", "x-user"}
    with TestClient(app) as client:
        client.headers["X-User"] = "alice"
        missing = client.post("/jobs/run-durable", json={"txt": "hello"})
        assert missing.status_code == 422
        assert [(e["type"], e["loc"]) for e in missing.json()["detail"]] == [("missing", ["body", "text"])]
        wrong = client.post("/jobs/run-durable", json={"text": "x", "chunks": "many"})
        assert wrong.status_code == 422
        assert wrong.json()["detail"][0]["loc"] == ["body", "chunks"]
        broken = client.post("/jobs/run-durable", content=b"{not json", headers={"Content-Type": "application/json"})
        assert broken.status_code == 422
        assert broken.json()["detail"][0]["type"] == "json_invalid"
        long_key = client.post("/jobs/run-durable", json={"text": "x"}, headers={"Idempotency-Key": "k" * 256})
        assert long_key.status_code == 422
        assert client.get("/jobs/executions/no-such-id").json() == {"detail": "Execution not found"}
        assert client.get("/jobs/executions/no-such-id").status_code == 404


@pytest.mark.parametrize("runner", ["sync", "async"])
def test_suspend_and_resume_with_the_resume_model(runner: str, tmp_path: Path) -> None:
    app = user_app(deployment_for(SQLiteExecutionStore(tmp_path / "hitl.sqlite3"), RUNNERS[runner]))
    with TestClient(app) as client:
        location = client.post("/jobs/run-durable", json={"text": "draft", "approve": True}).headers["location"]
        waiting = wait_for(client, location, {"waiting", "completed", "failed"})
        assert waiting["status"] == "waiting", waiting
        assert waiting["waiting"] == {"question": "publish draft?"}

        bad = client.post(f"{location}/resume", json={"approve": "yes"})
        assert bad.status_code == 422
        assert ["body", "approved"] in [e["loc"] for e in bad.json()["detail"]]

        resumed = client.post(f"{location}/resume", json={"approved": True, "note": "ship it"})
        assert resumed.status_code == 202
        assert resumed.json()["status"] == "queued"
        done = wait_for(client, location, {"completed", "failed"})
        assert done["result"] == {"text": "DRAFT", "attempt": 2, "approved": True, "note": "ship it", "owner": None}

        again = client.post(f"{location}/resume", json={"approved": False})
        assert again.status_code == 409


@pytest.mark.parametrize("runner", ["sync", "async"])
def test_cancel_a_running_execution(runner: str) -> None:
    with TestClient(user_app(deployment_for(MemoryExecutionStore(), RUNNERS[runner]))) as client:
        location = client.post("/jobs/run-durable", json={"text": "long", "hold": 30}).headers["location"]
        wait_for(client, location, {"running"})
        cancel = client.post(f"{location}/cancel", json={"reason": "changed my mind"})
        assert cancel.status_code == 202
        assert cancel.json()["cancellation_requested_at"] is not None
        done = wait_for(client, location, {"canceled", "completed", "failed"}, timeout=10)
        assert done["status"] == "canceled"
        assert done["result"] is None
        assert client.post(f"{location}/cancel").status_code == 200  # already ended: unchanged


def test_a_deployment_not_started_refuses_new_work_with_503() -> None:
    deployment = deployment_for(MemoryExecutionStore())
    with TestClient(user_app(deployment, start=False)) as client:
        refused = client.post("/jobs/run-durable", json={"text": "early"})
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert "not accepting" in refused.json()["detail"]


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_stream_replays_chunks_and_ends_with_the_final_status(store: str, tmp_path: Path) -> None:
    with TestClient(user_app(deployment_for(_store(store, tmp_path)))) as client:
        location = client.post("/jobs/run-durable", json={"text": "s", "chunks": 3, "hold": 0.3}).headers["location"]
        live = client.get(f"{location}/stream")  # opened while running: read until the execution ends
        assert live.status_code == 200
        assert live.headers["content-type"].startswith("text/event-stream")
        events = sse_events(live.text)
        assert [e["event"] for e in events] == ["chunk", "chunk", "chunk", "completed"]
        assert [e["data"] for e in events[:3]] == [f'{{"attempt":1,"payload":{{"index":{i}}}}}' for i in range(3)]
        final = events[-1]["data"]
        assert '"status":"completed"' in final and f'"self":"{location}"' in final

        resumed = client.get(f"{location}/stream", headers={"Last-Event-ID": events[0]["id"]})
        assert [e["event"] for e in sse_events(resumed.text)] == ["chunk", "chunk", "completed"]
        bad_cursor = client.get(f"{location}/stream", headers={"Last-Event-ID": "not-a-cursor"})
        assert bad_cursor.status_code == 422


def test_owner_dependency_scopes_executions_to_their_owner() -> None:
    with TestClient(user_app(deployment_for(MemoryExecutionStore()), owner=header_owner)) as client:
        alice, bob = {"X-User": "alice"}, {"X-User": "bob"}
        first = client.post("/jobs/run-durable", json={"text": "mine", "approve": True}, headers=alice)
        location = first.headers["location"]
        waiting = wait_for(client, location, {"waiting"}, headers=alice)
        assert waiting["links"]["self"] == location

        assert client.get(location, headers=bob).status_code == 404
        assert client.get(location, headers=bob).json() == {"detail": "Execution not found"}
        assert client.post(f"{location}/resume", json={"approved": True}, headers=bob).status_code == 404
        assert client.post(f"{location}/cancel", headers=bob).status_code == 404
        assert client.get(f"{location}/stream", headers=bob).status_code == 404
        assert client.get(location).status_code == 422  # the dependency needs its header

        # One owner's idempotency key does not reach another owner's executions.
        key = {"Idempotency-Key": "same"}
        a = client.post("/jobs/run-durable", json={"text": "k"}, headers={**alice, **key})
        b = client.post("/jobs/run-durable", json={"text": "k"}, headers={**bob, **key})
        assert (a.status_code, b.status_code) == (202, 202)
        assert a.json()["execution_id"] != b.json()["execution_id"]

        assert client.post(f"{location}/resume", json={"approved": True}, headers=alice).status_code == 202
        done = wait_for(client, location, {"completed"}, headers=alice)
        assert done["result"]["owner"] == "alice"


def test_without_an_owner_dependency_everyone_sees_every_execution() -> None:
    with TestClient(user_app(deployment_for(MemoryExecutionStore()), owner=None)) as client:
        location = client.post("/jobs/run-durable", json={"text": "shared"}, headers={"X-User": "alice"}).headers[
            "location"
        ]
        done = wait_for(client, location, {"completed"}, headers={"X-User": "bob"})
        assert done["result"]["owner"] is None


def test_links_follow_a_mount_and_a_prefix() -> None:
    deployment = deployment_for(MemoryExecutionStore())
    runtime = DurableRuntime([deployment])

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        yield
        await runtime.close()

    inner = FastAPI()
    inner.include_router(create_durable_router(deployment, owner_id_dependency=None), prefix="/v1/jobs")
    outer = FastAPI(lifespan=lifespan)
    outer.mount("/api", inner)
    with TestClient(outer) as client:
        response = client.post("/api/v1/jobs/run-durable", json={"text": "m"})
        assert response.status_code == 202
        location = response.headers["location"]
        assert location.startswith("/api/v1/jobs/executions/")
        assert wait_for(client, location, {"completed"})["links"]["self"] == location


def test_monitoring_lists_executions_only_when_the_dependency_allows() -> None:
    def operator(x_role: str = Header(default="")) -> bool:
        return x_role == "operator"

    deployment = deployment_for(MemoryExecutionStore())
    app = user_app(deployment, monitoring_enabled=True, monitoring_dependency=operator)
    with TestClient(app) as client:
        location = client.post("/jobs/run-durable", json={"text": "listed"}).headers["location"]
        wait_for(client, location, {"completed"})
        assert client.get("/jobs/executions").status_code == 403
        listed = client.get("/jobs/executions", headers={"X-Role": "operator"})
        assert listed.status_code == 200
        page = listed.json()
        assert [e["execution_id"] for e in page["executions"]] == [location.rsplit("/", 1)[-1]]
        assert page["executions"][0]["deployment"] == "summaries"
    unguarded = user_app(deployment_for(MemoryExecutionStore()), monitoring_enabled=True)
    with TestClient(unguarded) as client:
        assert client.get("/jobs/executions").status_code == 403
    with TestClient(user_app(deployment_for(MemoryExecutionStore()))) as client:
        assert client.get("/jobs/executions").status_code in (404, 405)  # no monitoring route


def test_store_limits_apply_over_http() -> None:
    store = MemoryExecutionStore("summaries", config=StoreConfig(max_payload_bytes=200, max_stream_chunks=2))
    with TestClient(user_app(deployment_for(store))) as client:
        too_big = client.post("/jobs/run-durable", json={"text": "x" * 500})
        assert too_big.status_code == 413
        location = client.post("/jobs/run-durable", json={"text": "s", "chunks": 5}).headers["location"]
        wait_for(client, location, {"completed"})
        events = sse_events(client.get(f"{location}/stream").text)
        assert [e.get("event") for e in events] == ["chunk", "chunk", "completed"]  # the newest two kept
        assert events[0]["data"] == '{"attempt":1,"payload":{"index":3}}'


def test_redis_store_from_an_asyncio_client(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    try:
        import redis.asyncio

        from hayhooks.durable.redis import RedisExecutionStore

        client = redis.asyncio.Redis.from_url(server.url)
        viewer = redis.asyncio.Redis.from_url(server.url)
        store = RedisExecutionStore(client, "summaries", viewer_client=viewer, key_prefix="embed-test")
        assert store.viewer is not store.client
        app = user_app(deployment_for(store, RUNNERS["async"]), owner=header_owner)
        with TestClient(app) as http:
            alice = {"X-User": "alice"}
            location = http.post("/jobs/run-durable", json={"text": "r", "chunks": 2}, headers=alice).headers[
                "location"
            ]
            done = wait_for(http, location, {"completed", "failed"}, headers=alice)
            assert done["result"] == {"text": "R", "attempt": 1, "approved": None, "note": "", "owner": "alice"}
            assert http.get(location, headers={"X-User": "bob"}).status_code == 404
            events = sse_events(http.get(f"{location}/stream", headers=alice).text)
            assert [e["event"] for e in events] == ["chunk", "chunk", "completed"]
            assert [e["id"] for e in events[:2]] == ["0-1", "0-2"]
        import redis as sync_redis

        keys = sync_redis.Redis.from_url(server.url).keys("embed-test:*")
        assert keys, "the execution was written under the key prefix"
        store.close()
    finally:
        server.stop()
