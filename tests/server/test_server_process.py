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
                env=base_env(**(env or {})), cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT,
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


def test_default_pipelines_dir_is_relative_to_cwd_and_created(tmp_path: Path, launch) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    server = launch(workdir)
    assert (workdir / "pipelines").is_dir()
    write_wrapper(workdir / "pipelines", "later", simple("l"))  # not deployed: startup already ran
    with server.client() as client:
        assert client.get("/status").json()["pipelines"] in ([], ["later"])
    server.stop()

    server = launch(workdir)
    with server.client() as client:
        assert client.post("/later/run", json={}).json()["result"]["answer"] == "l"


def test_pipelines_dir_from_environment_and_dotenv(tmp_path: Path, launch) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    write_wrapper(tmp_path / "from_env", "envpipe", simple("env"))
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
    server.stop()

    # The environment beats .env.
    server = launch(workdir, env={"HAYHOOKS_PIPELINES_DIR": str(tmp_path / "from_env")})
    with server.client() as client:
        assert client.get("/status").json()["pipelines"] == ["envpipe"]


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


def test_log_variable_alone_sets_the_level(tmp_path: Path, start_server) -> None:
    write_wrapper(tmp_path / "pipelines", "loud", simple("l"))
    server = start_server(tmp_path / "pipelines", env={"LOG": "WARNING"})
    with server.client() as client:
        assert client.get("/status").status_code == 200
    assert "| INFO " not in server.log()
    server.stop()
    server = start_server(tmp_path / "pipelines")
    assert "| INFO " in server.log()


def test_two_workers_each_deploy_the_pipelines_dir(tmp_path: Path, start_server) -> None:
    pipelines = tmp_path / "pipelines"
    names = [f"w{i}" for i in range(3)]
    for name in names:
        write_wrapper(pipelines, name, simple(name))
    server = start_server(pipelines, args=["--workers", "2"])
    workers, pids = set(), set()
    for i in range(40):
        # A new connection every time, so the OS may hand each one to either worker.
        status = httpx.get(server.url + "/status", timeout=30, headers={"Connection": "close"})
        assert status.status_code == 200
        assert sorted(status.json()["pipelines"]) == names
        workers.add(status.json()["worker"])
        name = names[i % len(names)]
        run = httpx.post(server.url + f"/{name}/run", json={}, timeout=30, headers={"Connection": "close"})
        assert run.status_code == 200, run.text
        assert run.json()["result"]["answer"] == name
        pids.add(run.json()["result"]["pid"])
    worker_pids = {int(w.rsplit(":", 1)[1]) for w in workers}
    # Requests are served by worker processes, not by the supervisor; at most two of them.
    assert server.proc.pid not in worker_pids | pids
    assert 1 <= len(worker_pids | pids) <= 2


def test_cli_flags_root_path_and_additional_python_path(tmp_path: Path, start_server) -> None:
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
        tmp_path / "pipelines", args=["--root-path", "/prefix", "--additional-python-path", str(shared)]
    )
    with server.client() as client:
        assert client.post("/shared/run", json={}).json() == {"result": "from the shared folder"}
        assert client.get("/openapi.json").json()["servers"] == [{"url": "/prefix"}]
        assert "/prefix/openapi.json" in client.get("/docs").text


def test_reload_flag_serves(tmp_path: Path, start_server) -> None:
    write_wrapper(tmp_path / "pipelines", "reloaded", simple("r"))
    server = start_server(tmp_path / "pipelines", args=["--reload"])
    with server.client() as client:
        assert client.post("/reloaded/run", json={}).json()["result"]["answer"] == "r"


def test_runtime_deploy_is_saved_and_deployed_again_after_restart(tmp_path: Path, start_server) -> None:
    pipelines = tmp_path / "pipelines"
    server = start_server(pipelines)
    with server.client() as client:
        files = {"pipeline_wrapper.py": simple("saved"), "helper.txt": "x"}
        assert client.post("/deploy_files", json={"name": "persist", "files": files}).status_code == 200
    assert server.stop() is not None

    server = start_server(pipelines)
    with server.client() as client:
        assert client.post("/persist/run", json={}).json()["result"]["answer"] == "saved"
        assert client.post("/undeploy/persist").json() == {"success": True, "name": "persist"}
    assert not (pipelines / "persist").exists()
