"""Store selection, an unreachable store (503, nothing half-written, readiness) and the embedded store's files."""

from __future__ import annotations

from pathlib import Path

from conftest import free_port, write_wrapper
from durable_support import app_without_ready_wait, job_wrapper, wait_status
from redis_support import RedisServer

from hayhooks.durable.config import config_from_settings
from hayhooks.settings import Settings

FAST = {"durable_poll_interval_seconds": 0.05}


def test_store_selection(tmp_path: Path):
    fresh = config_from_settings(Settings(_env_file=None, pipelines_dir=str(tmp_path / "pipes")))
    assert fresh.store == "sqlite"
    assert fresh.sqlite_path == str(tmp_path / ".hayhooks" / "durable.sqlite3")
    with_url = Settings(_env_file=None, durable_redis_url="redis://cache:6379/1")
    assert config_from_settings(with_url).store == "redis"
    # A Hayhooks 2.1.0 user who relied on its Redis default never silently gets a local file.
    assert config_from_settings(Settings(_env_file=None, durable_mode=True)).store == "redis"
    explicit = Settings(_env_file=None, durable_mode=True, durable_store="memory")
    assert config_from_settings(explicit).store == "memory"
    custom = Settings(_env_file=None, durable_sqlite_path=str(tmp_path / "x.db"))
    assert config_from_settings(custom).sqlite_path == str(tmp_path / "x.db")


def test_unreachable_redis_is_503_then_nothing_was_written(tmp_path: Path):
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "job", job_wrapper())
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with app_without_ready_wait(pipelines, durable_store="redis", durable_redis_url=url, **FAST) as client:
        response = client.post("/job/run-durable", json={"n": 1}, headers={"Idempotency-Key": "once"})
        assert response.status_code == 503
        assert "durable execution store is unavailable" in response.json()["detail"]
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "durable_store_unavailable"
        assert client.get("/health/live").status_code == 200
        redis = RedisServer(tmp_path / "redis", port=port).start()
        try:
            assert client.get("/health/ready").status_code == 200
            assert client.get("/job/executions").json()["executions"] == []
            retry = client.post("/job/run-durable", json={"n": 1}, headers={"Idempotency-Key": "once"})
            assert retry.status_code == 202  # the failed submit left no idempotency key behind
            assert wait_status(client, retry.headers["location"], {"completed"})["result"]["value"] == 3
        finally:
            redis.stop()


def test_durable_mode_without_a_store_uses_redis_not_a_local_file(tmp_path: Path):
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "job", job_wrapper())
    port = free_port()  # nothing listens here: as if the user's Redis were down
    url = f"redis://127.0.0.1:{port}/0"
    with app_without_ready_wait(pipelines, durable_mode=True, durable_redis_url=url) as client:
        assert client.post("/job/run-durable", json={"n": 1}).status_code == 503
    assert not (tmp_path / ".hayhooks").exists()


def test_invalid_durable_wrapper_is_refused_at_deploy(app_client, tmp_path: Path):
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "job", job_wrapper().replace('durable_revision = "rev-1"', "durable_revision = None"))
    with app_client(pipelines) as client:
        assert client.post("/job/run-durable", json={"n": 1}).status_code == 404
        status = client.get("/status").json()
    assert "durable_revision" in str(status)


def test_no_durable_pipeline_never_creates_the_embedded_store(app_client, tmp_path: Path):
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    with app_client(pipelines, durable_maintenance_interval_seconds=0.05) as client:
        assert client.get("/health/ready").status_code == 200
        assert client.post("/nothing/run-durable", json={}).status_code == 404
    assert not (tmp_path / ".hayhooks").exists()
