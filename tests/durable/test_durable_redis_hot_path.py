"""The Redis store's event-loop client (redis.asyncio) and the claim path as users see them: credentials and the
database number from the URL, a Redis that stops answering, workers in two processes racing for the same work,
and idle workers starting a new execution at once (the wake-up is never lost)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
import redis as redis_py
from conftest import launch_server, write_wrapper
from durable_support import app_without_ready_wait, job_wrapper, wait_status
from redis_support import RedisServer

FAST = {"durable_poll_interval_seconds": 0.05, "durable_lease_duration_ms": 3000, "durable_lease_commit_safety_ms": 100}


def _pipelines(tmp_path: Path) -> Path:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "job", job_wrapper())
    return pipelines


def test_password_and_database_number_from_the_url(app_client, tmp_path: Path):
    redis = RedisServer(tmp_path / "redis", extra=["--requirepass", "s3cret"]).start()
    try:
        url = f"redis://:s3cret@127.0.0.1:{redis.port}/3"
        admin = redis_py.Redis(port=redis.port, password="s3cret", db=3)
        with app_client(_pipelines(tmp_path), durable_store="redis", durable_redis_url=url, **FAST) as client:
            location = client.post("/job/run-durable", json={"n": 4}).headers["location"]
            assert wait_status(client, location, {"completed"})["result"]["value"] == 9
            admin.script_flush()  # as after a Redis restart: the store's scripts are loaded again on use
            location = client.post("/job/run-durable", json={"n": 5}).headers["location"]
            assert wait_status(client, location, {"completed"})["result"]["value"] == 11
        assert admin.keys("hayhooks:durable:exec:*")  # the executions are in database 3...
        assert not redis_py.Redis(port=redis.port, password="s3cret", db=0).keys("*")  # ...and nowhere else
        wrong = f"redis://:nope@127.0.0.1:{redis.port}/3"
        with app_without_ready_wait(_pipelines(tmp_path), durable_store="redis", durable_redis_url=wrong) as client:
            assert client.post("/job/run-durable", json={"n": 1}).status_code == 503
    finally:
        redis.stop()


def test_redis_that_stops_answering_is_503_within_the_timeout_then_recovers(app_client, tmp_path: Path):
    redis = RedisServer(tmp_path / "redis").start()
    try:
        with app_client(_pipelines(tmp_path), durable_store="redis", durable_redis_url=redis.url, **FAST) as client:
            first = client.post("/job/run-durable", json={"n": 1}).headers["location"]
            wait_status(client, first, {"completed"})
            os.kill(redis.proc.pid, signal.SIGSTOP)
            try:
                started = time.monotonic()
                stuck = client.post("/job/run-durable", json={"n": 2}, headers={"Idempotency-Key": "k"})
                assert stuck.status_code == 503
                assert time.monotonic() - started < 8  # the 5 s reply timeout, not a hang
            finally:
                os.kill(redis.proc.pid, signal.SIGCONT)
            retry = client.post("/job/run-durable", json={"n": 2}, headers={"Idempotency-Key": "k"})
            assert retry.status_code in (200, 202)  # 200: the timed-out submit did reach Redis after all
            assert wait_status(client, retry.headers["location"], {"completed"})["result"]["value"] == 5
            assert client.get(first).json()["status"] == "completed"
    finally:
        redis.stop()


@pytest.mark.parametrize("store", ["sqlite", "memory", "redis"])
def test_idle_workers_start_each_new_execution_at_once(app_client, tmp_path: Path, store: str):
    extra: dict[str, str] = {}
    redis = None
    if store == "redis":
        redis = RedisServer(tmp_path / "redis").start()
        extra["durable_redis_url"] = redis.url
    settings = {**FAST, "durable_poll_interval_seconds": 60.0, **extra}  # only a wake-up can start them in time
    try:
        with app_client(_pipelines(tmp_path), durable_store=store, **settings) as client:
            for n in range(15):
                started = time.monotonic()
                location = client.post("/job/run-durable", json={"n": n}).headers["location"]
                assert wait_status(client, location, {"completed"}, timeout=10)["result"]["value"] == 2 * n + 1
                assert time.monotonic() - started < 5
    finally:
        if redis is not None:
            redis.stop()


def test_workers_of_two_processes_racing_run_each_execution_once(tmp_path: Path):
    redis = RedisServer(tmp_path / "redis").start()
    env = {
        "HAYHOOKS_DURABLE_STORE": "redis",
        "HAYHOOKS_DURABLE_REDIS_URL": redis.url,
        "HAYHOOKS_DURABLE_WORKER_CONCURRENCY": "3",
        "HAYHOOKS_DURABLE_POLL_INTERVAL_SECONDS": "0.05",
    }
    server = launch_server(_pipelines(tmp_path), tmp_path, env=env, args=["--workers", "2"])
    try:
        client = server.client(limits=httpx.Limits(max_keepalive_connections=0))
        log = tmp_path / "runs.log"
        locations = [
            client.post("/job/run-durable", json={"n": n, "log": str(log)}).headers["location"] for n in range(40)
        ]
        done = [wait_status(client, location, {"completed"}, timeout=60) for location in locations]
        assert [d["result"]["value"] for d in done] == [2 * n + 1 for n in range(40)]
        assert {d["attempt"] for d in done} == {1}  # no execution was claimed twice
        runs = [line for line in log.read_text().splitlines() if line.startswith("double")]
        assert len(runs) == 40  # each pipeline ran once, whichever process took it
    finally:
        server.stop()
        redis.stop()
