"""Health probes: live at once, ready only after the startup deploy, and never behind a key."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from conftest import write_wrapper
from hardening_support import INVOKE_KEY, SLOW_SETUP, wait_until


def test_ready_is_503_during_a_slow_startup_then_200(start_server, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "slow", SLOW_SETUP)  # setup() sleeps 3 s
    server = start_server(pipelines, env={"HAYHOOKS_API_KEYS": json.dumps([INVOKE_KEY])}, wait=False)
    wait_until(lambda: httpx.get(f"{server.url}/health/live", timeout=2).status_code == 200, 60, "liveness")
    starting = httpx.get(f"{server.url}/health/ready", timeout=2)
    assert starting.status_code == 503
    assert starting.json() == {"status": "starting"}
    wait_until(lambda: httpx.get(f"{server.url}/health/ready", timeout=2).status_code == 200, 60, "readiness")
    ready = httpx.get(f"{server.url}/health/ready", timeout=2).json()
    assert ready == {"status": "ready", "pipelines": 1}
    assert httpx.get(f"{server.url}/status", timeout=5).json()["pipelines"] == ["slow"]
