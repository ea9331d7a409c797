"""Faults: a worker or instance killed mid-execution, SIGTERM, a restart, and Redis restarted mid-run.

Each test counts results: exactly one completed result per execution, the pipeline continued from its last
checkpoint (the component before the checkpoint ran once), nothing lost. Leases are short so takeovers happen
in seconds.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from conftest import launch_server, write_wrapper
from durable_support import job_wrapper, wait_status
from redis_support import RedisServer

FAST_LEASE = {
    "HAYHOOKS_DURABLE_LEASE_DURATION_MS": "1500",
    "HAYHOOKS_DURABLE_LEASE_COMMIT_SAFETY_MS": "200",
    "HAYHOOKS_DURABLE_POLL_INTERVAL_SECONDS": "0.1",
    "HAYHOOKS_DURABLE_SHUTDOWN_GRACE_SECONDS": "5",
}

NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)


def _wait_for_lines(path: Path, prefix: str, count: int, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [line for line in path.read_text().splitlines() if line.startswith(prefix)] if path.exists() else []
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise AssertionError(f"{prefix!r} never logged {count} times: {path.read_text() if path.exists() else ''}")


def _pipelines(tmp_path: Path) -> Path:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "job", job_wrapper())
    return pipelines


def _held_job(tmp_path: Path, name: str) -> tuple[dict, Path, Path]:
    hold, log = tmp_path / f"{name}.hold", tmp_path / f"{name}.log"
    hold.write_text("hold")
    return {"n": 5, "hold": str(hold), "log": str(log)}, hold, log


def _check_single_result(client: httpx.Client, location: str, log: Path) -> dict:
    done = wait_status(client, location, {"completed"}, timeout=60)
    assert done["result"]["value"] == 11
    lines = log.read_text().splitlines()
    assert sum(line.startswith("double") for line in lines) == 1  # resumed from the checkpoint, not restarted
    checkpoints = [e for e in done["progress"] if e["kind"] == "checkpoint"]
    assert len(checkpoints) == 1
    return done


def test_sigkill_a_worker_of_two_mid_execution(tmp_path: Path):
    pipelines = _pipelines(tmp_path)
    server = launch_server(pipelines, tmp_path, env=FAST_LEASE, args=["--workers", "2"])
    try:
        client = server.client(limits=NO_KEEPALIVE)
        body, hold, log = _held_job(tmp_path, "w")
        location = client.post("/job/run-durable", json=body).headers["location"]
        victim = int(_wait_for_lines(log, "gate", 1)[0].split()[1])
        os.kill(victim, signal.SIGKILL)
        hold.unlink()
        done = _check_single_result(client, location, log)
        gates = _wait_for_lines(log, "gate", 2)
        assert int(gates[1].split()[1]) != victim
        assert done["attempt"] == 2
        listed = client.get("/job/executions").json()["executions"]
        assert [e["execution_id"] for e in listed] == [done["execution_id"]]
    finally:
        server.stop()


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_sigkill_an_instance_another_instance_takes_over(tmp_path: Path, store: str):
    pipelines = _pipelines(tmp_path)
    env = dict(FAST_LEASE)
    redis = None
    if store == "redis":
        redis = RedisServer(tmp_path / "redis").start()
        env["HAYHOOKS_DURABLE_REDIS_URL"] = redis.url
    else:
        env["HAYHOOKS_DURABLE_SQLITE_PATH"] = str(tmp_path / "shared.sqlite3")
    first = launch_server(pipelines, tmp_path, env=env)
    second = None
    try:
        body, hold, log = _held_job(tmp_path, "i")
        location = first.client(limits=NO_KEEPALIVE).post("/job/run-durable", json=body).headers["location"]
        _wait_for_lines(log, "gate", 1)
        first.stop(signal.SIGKILL)
        second = launch_server(pipelines, tmp_path, env=env)
        hold.unlink()
        _check_single_result(second.client(limits=NO_KEEPALIVE), location, log)
    finally:
        first.stop()
        if second is not None:
            second.stop()
        if redis is not None:
            redis.stop()


def test_sigterm_finishes_within_the_grace_period_and_state_survives_restart(tmp_path: Path):
    pipelines = _pipelines(tmp_path)
    server = launch_server(pipelines, tmp_path, env=FAST_LEASE)
    client = server.client(limits=NO_KEEPALIVE)
    running = client.post("/job/run-durable", json={"n": 1, "sleep": 1.5}).headers["location"]
    waiting = client.post("/job/run-durable", json={"n": 2, "approve": True}).headers["location"]
    wait_status(client, running, {"running"})
    wait_status(client, waiting, {"waiting"}, timeout=30)
    assert server.stop(signal.SIGTERM) is not None
    restarted = launch_server(pipelines, tmp_path, env=FAST_LEASE)
    try:
        client = restarted.client(limits=NO_KEEPALIVE)
        done = client.get(running).json()
        assert done["status"] == "completed" and done["attempt"] == 1
        assert client.get(waiting).json()["status"] == "waiting"
        assert client.post(waiting + "/resume", json={"approved": True}).status_code == 202
        assert wait_status(client, waiting, {"completed"})["result"]["value"] == 5
    finally:
        restarted.stop()


def test_redis_restarted_mid_run_loses_nothing(tmp_path: Path):
    pipelines = _pipelines(tmp_path)
    redis = RedisServer(tmp_path / "redis").start()
    env = {**FAST_LEASE, "HAYHOOKS_DURABLE_REDIS_URL": redis.url, "HAYHOOKS_DURABLE_LEASE_DURATION_MS": "4000"}
    server = launch_server(pipelines, tmp_path, env=env)
    try:
        client = server.client(limits=NO_KEEPALIVE)
        body, hold, log = _held_job(tmp_path, "r")
        location = client.post("/job/run-durable", json=body).headers["location"]
        queued = [client.post("/job/run-durable", json={"n": i}).headers["location"] for i in range(3)]
        _wait_for_lines(log, "gate", 1)
        redis.stop()
        assert client.get(location).status_code == 503
        redis.start()
        hold.unlink()
        done = wait_status(client, location, {"completed"}, timeout=60)
        assert done["result"]["value"] == 11
        results = [wait_status(client, url, {"completed"}, timeout=60)["result"]["value"] for url in queued]
        assert results == [1, 3, 5]
        listed = client.get("/job/executions").json()["executions"]
        assert len(listed) == 4 and {e["status"] for e in listed} == {"completed"}
    finally:
        server.stop()
        redis.stop()


def test_sigterm_with_release_on_shutdown_hands_over_at_once(tmp_path: Path):
    pipelines = _pipelines(tmp_path)
    # A long lease: only the release on shutdown lets the next instance continue within the test's wait.
    env = {
        **FAST_LEASE,
        "HAYHOOKS_DURABLE_LEASE_DURATION_MS": "120000",
        "HAYHOOKS_DURABLE_SHUTDOWN_GRACE_SECONDS": "0.5",
        "HAYHOOKS_DURABLE_RELEASE_RUNNING_ON_SHUTDOWN": "true",
    }
    first = launch_server(pipelines, tmp_path, env=env)
    second = None
    try:
        body, hold, log = _held_job(tmp_path, "t")
        location = first.client(limits=NO_KEEPALIVE).post("/job/run-durable", json=body).headers["location"]
        _wait_for_lines(log, "gate", 1)
        first.stop(signal.SIGTERM)
        hold.unlink()
        second = launch_server(pipelines, tmp_path, env=env)
        done = _check_single_result(second.client(limits=NO_KEEPALIVE), location, log)
        assert done["attempt"] == 2
    finally:
        first.stop()
        if second is not None:
            second.stop()
