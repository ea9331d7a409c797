"""Issue points 5, 8 and 9 where a real ``hayhooks run`` process is the point: CLI flags, workers, .env, errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from conftest import HAYHOOKS, ServerProcess, base_env, free_port, write_wrapper

SIMPLE = """\
import os
import threading

from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pid = os.getpid()

    def run_api(self, text: str = "") -> dict:
        return {"answer": "ANSWER" + text, "pid": self.pid, "thread": threading.current_thread().name,
                "main": threading.current_thread() is threading.main_thread()}
"""

FAILING = """\
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self) -> str:
        raise RuntimeError("kaboom in run_api")
"""


def simple(answer: str) -> str:
    return SIMPLE.replace("ANSWER", answer)


@pytest.fixture
def launch(tmp_path: Path):
    """Start ``hayhooks run`` with exactly the given args (no implicit --pipelines-dir) in ``cwd``."""
    started: list[ServerProcess] = []

    def start(cwd: Path, args: list[str] | None = None, env: dict[str, str] | None = None) -> ServerProcess:
        port = free_port()
        log_path = tmp_path / f"launch-{port}.log"
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen(
                [*HAYHOOKS, "run", "--host", "127.0.0.1", "--port", str(port), *(args or [])],
                env=base_env(**(env or {})),
                cwd=cwd,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = ServerProcess(proc, port, log_path)
        started.append(server)
        server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop()


def run_cli(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*HAYHOOKS, *args], cwd=cwd, env=base_env(**(env or {})), capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "dotenv", "variable"),
    [
        ({"HAYHOOKS_PORT": "abc"}, None, "HAYHOOKS_PORT"),
        ({"HAYHOOKS_STARTUP_DEPLOY_STRATEGY": "eventually"}, None, "HAYHOOKS_STARTUP_DEPLOY_STRATEGY"),
        ({}, "HAYHOOKS_SHOW_TRACEBACKS=sometimes\n", "HAYHOOKS_SHOW_TRACEBACKS"),
    ],
)
def test_invalid_setting_stops_startup_with_one_line(tmp_path: Path, env, dotenv, variable) -> None:
    if dotenv:
        (tmp_path / ".env").write_text(dotenv)
    result = run_cli(["run"], cwd=tmp_path, env=env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert variable in output
    assert "Traceback" not in output
    assert len([line for line in output.splitlines() if line.strip()]) == 1, output
    assert not (tmp_path / "pipelines").exists()


def test_default_pipelines_dir_is_relative_to_cwd_and_runtime_deploys_survive_restart(tmp_path: Path, launch) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    server = launch(workdir)
    pipelines = workdir / "pipelines"
    assert pipelines.is_dir()
    with server.client() as client:
        files = {"pipeline_wrapper.py": simple("saved"), "helper.txt": "x"}
        assert client.post("/deploy_files", json={"name": "persist", "files": files}).status_code == 200
        assert client.post("/persist/run", json={}).json()["result"]["answer"] == "saved"
    assert (pipelines / "persist" / "helper.txt").read_text() == "x"
    server.stop()

    server = launch(workdir)
    with server.client() as client:
        assert client.get("/status").json()["pipelines"] == ["persist"]
        assert client.post("/persist/run", json={}).json()["result"]["answer"] == "saved"
        assert client.post("/undeploy/persist").json() == {"success": True, "name": "persist"}
    assert not (pipelines / "persist").exists()


def test_dotenv_in_working_directory_configures_the_server(tmp_path: Path, launch) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    write_wrapper(tmp_path / "from_dotenv", "dotpipe", FAILING)
    (workdir / ".env").write_text(
        f"HAYHOOKS_PIPELINES_DIR={tmp_path / 'from_dotenv'}\nHAYHOOKS_SHOW_TRACEBACKS=true\nHAYHOOKS_ROOT_PATH=/x\n"
    )
    server = launch(workdir)
    with server.client() as client:
        assert client.get("/status").json()["pipelines"] == ["dotpipe"]
        failed = client.post("/dotpipe/run", json={})
        document = client.get("/openapi.json").json()
    assert failed.status_code == 500
    assert "kaboom in run_api" in failed.json()["detail"] and "Traceback" in failed.json()["detail"]
    assert document["servers"] == [{"url": "/x"}]


def test_tracebacks_off_by_default_in_real_server(tmp_path: Path, start_server) -> None:
    write_wrapper(tmp_path / "pipelines", "fails", FAILING)
    write_wrapper(tmp_path / "pipelines", "threads", simple("t"))
    server = start_server(tmp_path / "pipelines")
    with server.client() as client:
        failed = client.post("/fails/run", json={})
        threads = client.post("/threads/run", json={}).json()["result"]
    assert failed.status_code == 500
    assert failed.json() == {"detail": failed.json()["detail"]}
    assert "kaboom in run_api" in failed.json()["detail"] and "Traceback" not in failed.json()["detail"]
    # uvicorn runs the event loop on the main thread: sync run_api must run elsewhere.
    assert threads["main"] is False
    log = server.log()
    assert "CORS allows every origin" in log
    assert "| INFO " in log  # the default level, for contrast with the quiet server below
    assert "kaboom in run_api" in log  # logged for the operator even though the client gets no traceback


def test_cors_warning_absent_and_log_level_from_hayhooks_log_level(tmp_path: Path, start_server) -> None:
    write_wrapper(tmp_path / "pipelines", "quiet", simple("q"))
    env = {
        "HAYHOOKS_CORS_ALLOW_ORIGINS": "https://app.example.com",
        "LOG": "DEBUG",
        "HAYHOOKS_LOG_LEVEL": "WARNING",
    }
    server = start_server(tmp_path / "pipelines", env=env)
    with server.client() as client:
        response = client.options(
            "/quiet/run", headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}
        )
        assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    log = server.log()
    assert "CORS allows every origin" not in log
    assert "| INFO " not in log and "| DEBUG " not in log


def test_two_workers_each_deploy_the_pipelines_dir(tmp_path: Path, start_server) -> None:
    pipelines = tmp_path / "pipelines"
    names = [f"w{i}" for i in range(3)]
    for name in names:
        write_wrapper(pipelines, name, simple(name))
    server = start_server(pipelines, args=["--workers", "2"])
    workers, pids = set(), set()
    # No keep-alive: every request opens a new connection, which the OS may hand to either worker.
    no_keepalive = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=server.url, timeout=30, limits=no_keepalive) as client:
        for i in range(24):
            status = client.get("/status")
            assert status.status_code == 200
            assert sorted(status.json()["pipelines"]) == names
            workers.add(status.json()["worker"])
            name = names[i % len(names)]
            run = client.post(f"/{name}/run", json={})
            assert run.status_code == 200, run.text
            assert run.json()["result"]["answer"] == name
            pids.add(run.json()["result"]["pid"])
    worker_pids = {int(w.rsplit(":", 1)[1]) for w in workers}
    # Requests are served by worker processes, not by the supervisor; at most two of them.
    assert server.proc.pid not in worker_pids | pids
    assert 1 <= len(worker_pids | pids) <= 2


def test_cli_flags_reload_root_path_and_additional_python_path(tmp_path: Path, start_server) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hh_shared_helper.py").write_text("GREETING = 'from the shared folder'\n")
    code = (
        "import hh_shared_helper\nfrom hayhooks import BasePipelineWrapper\n\n\n"
        "class PipelineWrapper(BasePipelineWrapper):\n    def setup(self):\n        pass\n\n"
        "    def run_api(self) -> str:\n        return hh_shared_helper.GREETING\n"
    )
    write_wrapper(tmp_path / "pipelines", "shared", code)
    server = start_server(
        tmp_path / "pipelines", args=["--reload", "--root-path", "/prefix", "--additional-python-path", str(shared)]
    )
    with server.client() as client:
        assert client.post("/shared/run", json={}).json() == {"result": "from the shared folder"}
        assert client.get("/openapi.json").json()["servers"] == [{"url": "/prefix"}]
        assert "/prefix/openapi.json" in client.get("/docs").text
