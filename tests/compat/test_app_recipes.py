"""The module-level ``app``: ``uvicorn hayhooks.server.app:app --workers 2`` and ``fastapi run .../app.py``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from compat_support import LEGACY_PATHS_WRAPPER
from conftest import ServerProcess, base_env, free_port, write_wrapper

import hayhooks

WORKER_HEADER = "x-hayhooks-worker"
APP_FILE = Path(hayhooks.__file__).parent / "server" / "app.py"
BIN = Path(sys.executable).parent


def start(command: list[str], pipelines: Path, log_dir: Path, port: int) -> ServerProcess:
    log_path = log_dir / f"recipe-{port}.log"
    env = base_env(HAYHOOKS_PIPELINES_DIR=str(pipelines), HAYHOOKS_WATCH_PIPELINES_DIR="false")
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            command, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=log_dir, start_new_session=True
        )
    server = ServerProcess(proc, port, log_path)
    try:
        server.wait_ready(timeout=90)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture
def pipelines(tmp_path: Path) -> Path:
    folder = tmp_path / "pipelines"
    write_wrapper(folder, "greeter", LEGACY_PATHS_WRAPPER)
    return folder


def answers_from_both_workers(server: ServerProcess) -> set[str]:
    workers: set[str] = set()
    for _ in range(200):  # a fresh connection each time; the kernel hands them to either worker
        with httpx.Client(base_url=server.url, timeout=30) as client:
            answer = client.post("/greeter/run", json={"word": "W"})
        assert answer.json() == {"result": "Hello, W!"}, answer.text
        workers.add(answer.headers[WORKER_HEADER])
        if len(workers) == 2:
            break
    return workers


def test_uvicorn_import_string_with_two_workers(pipelines: Path, tmp_path: Path) -> None:
    port = free_port()
    command = [str(BIN / "uvicorn"), "hayhooks.server.app:app", "--workers", "2"]
    server = start([*command, "--host", "127.0.0.1", "--port", str(port)], pipelines, tmp_path, port)
    try:
        assert len(answers_from_both_workers(server)) == 2
    finally:
        assert server.stop() in (0, -15)


def test_fastapi_run_on_the_app_file(pipelines: Path, tmp_path: Path) -> None:
    port = free_port()
    command = [str(BIN / "fastapi"), "run", str(APP_FILE), "--workers", "2", "--host", "127.0.0.1"]
    server = start([*command, "--port", str(port)], pipelines, tmp_path, port)
    try:
        assert len(answers_from_both_workers(server)) == 2
    finally:
        server.stop()
