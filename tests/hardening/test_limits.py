"""Body size (413), per-pipeline timeouts (504), run slots and queues (503 + Retry-After), rate limit (429)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import write_wrapper, write_yaml
from hardening_support import (
    HANGING,
    INVOKE_KEY,
    SLEEPY,
    STUCK,
    UPPER,
    YAML_STUCK,
    bearer,
    launch,
    metric_value,
    wait_until,
)

MB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    root = tmp_path_factory.mktemp("limits")
    pipelines = root / "pipelines"
    write_wrapper(pipelines, "upper", UPPER)
    write_wrapper(pipelines, "sleepy", SLEEPY)
    write_wrapper(pipelines, "hanging", HANGING)
    write_wrapper(pipelines, "stuck", STUCK)
    write_yaml(pipelines, "yaml_stuck", YAML_STUCK)
    env = {"HAYHOOKS_MAX_REQUEST_BODY_MB": "1", "HAYHOOKS_REQUEST_TIMEOUT": "60"}
    started = launch(pipelines, root, env=env)
    yield started
    started.stop()


def metrics(server) -> str:
    return httpx.get(f"{server.url}/metrics", timeout=10).text


def in_flight(server, pipeline: str) -> float:
    return metric_value(metrics(server), "hayhooks_runs_in_flight", pipeline=pipeline)


def upper_answers(server) -> bool:
    response = httpx.post(f"{server.url}/upper/run", json={"text": "still here"}, timeout=10)
    return response.json() == {"result": "STILL HERE"}


def test_declared_body_over_the_limit_is_413(server) -> None:
    body = json.dumps({"text": "x" * (2 * MB)}).encode()
    response = httpx.post(f"{server.url}/upper/run", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "HAYHOOKS_MAX_REQUEST_BODY_MB" in response.json()["detail"]
    assert upper_answers(server)


def test_chunked_body_over_the_limit_is_413(server) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(4):
            yield b"x" * (MB // 2)
        yield b'"}'

    response = httpx.post(f"{server.url}/upper/run", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert upper_answers(server)


def test_body_under_the_limit_is_served(server) -> None:
    response = httpx.post(f"{server.url}/upper/run", json={"text": "y" * (MB // 2)}, timeout=30)
    assert response.status_code == 200 and len(response.json()["result"]) == MB // 2


def test_hanging_async_run_is_504_and_cancelled_while_others_answer(server) -> None:
    with ThreadPoolExecutor(1) as pool:
        hanging = pool.submit(httpx.post, f"{server.url}/hanging/run", json={"action": "hang"}, timeout=30)
        wait_until(lambda: in_flight(server, "hanging") == 1 or hanging.done(), what="the hanging run to start")
        assert upper_answers(server)
        response = hanging.result()
    assert response.status_code == 504
    assert "timeout" in response.json()["detail"]
    count = httpx.post(f"{server.url}/hanging/run", json={"action": "count"}, timeout=10)
    assert count.json() == {"result": 1}  # the hanging coroutine was cancelled
    assert metric_value(metrics(server), "hayhooks_run_timeouts_total", pipeline="hanging") == 1


def test_sync_run_past_its_timeout_is_504_and_finishes_on_its_thread(server, tmp_path: Path) -> None:
    gate = tmp_path / "release-stuck"
    response = httpx.post(f"{server.url}/stuck/run", json={"text": "t", "gate": str(gate)}, timeout=30)
    assert response.status_code == 504
    assert in_flight(server, "stuck") == 1  # still running on its thread, though the client has its answer
    assert upper_answers(server)
    gate.touch()
    wait_until(lambda: in_flight(server, "stuck") == 0, what="the abandoned sync run to end")
    assert httpx.post(f"{server.url}/stuck/run", json={"text": "t"}, timeout=30).json() == {"result": "T"}


def test_yaml_top_level_timeout_applies(server) -> None:
    response = httpx.post(f"{server.url}/yaml_stuck/run", json={"text": "t", "seconds": 3}, timeout=30)
    assert response.status_code == 504
    assert upper_answers(server)


def test_full_runs_and_queue_answer_503_with_retry_after(server, tmp_path: Path) -> None:
    url, gate = f"{server.url}/sleepy/run", tmp_path / "release-sleepy"
    with ThreadPoolExecutor(2) as pool:
        running = pool.submit(httpx.post, url, json={"text": "a", "gate": str(gate)}, timeout=60)
        wait_until(lambda: in_flight(server, "sleepy") == 1, what="the first run to start")
        queued = pool.submit(httpx.post, url, json={"text": "b"}, timeout=60)
        wait_until(
            lambda: metric_value(metrics(server), "hayhooks_runs_queued", pipeline="sleepy") == 1,
            what="the second run to queue",
        )
        refused = httpx.post(url, json={"text": "c"}, timeout=10)
        assert refused.status_code == 503
        assert int(refused.headers["retry-after"]) >= 1
        assert upper_answers(server)  # other pipelines are not affected
        gate.touch()
        assert running.result().json() == {"result": "A"}
        assert queued.result().json() == {"result": "B"}
    assert metric_value(metrics(server), "hayhooks_run_rejections_total", pipeline="sleepy") == 1


def test_rate_limit_per_key_is_429_with_retry_after(start_server, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "upper", UPPER)
    other_key = INVOKE_KEY + "-other"
    env = {"HAYHOOKS_RATE_LIMIT": "3/minute", "HAYHOOKS_API_KEYS": json.dumps([INVOKE_KEY, other_key])}
    server = start_server(pipelines, env=env)
    with server.client() as client:
        statuses = [
            client.post("/upper/run", json={"text": "a"}, headers=bearer(INVOKE_KEY)).status_code for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        limited = client.post("/upper/run", json={"text": "a"}, headers=bearer(INVOKE_KEY))
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
        assert client.post("/upper/run", json={"text": "a"}, headers=bearer(other_key)).status_code == 200
        assert all(client.get("/health/ready").status_code == 200 for _ in range(5))
        assert client.get("/status").status_code == 200


def test_rate_limit_without_keys_counts_per_client_address(app_client, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "upper", UPPER)
    with app_client(pipelines, rate_limit="2/minute") as client:
        statuses = [client.post("/upper/run", json={"text": "a"}).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert client.get("/v1/models").status_code == 429
        assert client.get("/health/live").status_code == 200
