"""Shared fixtures: real servers (subprocess on 127.0.0.1, or the ASGI app in-process) and pipeline folders.

- ``write_wrapper(dir, name, code, **extra_files)`` / ``write_yaml(dir, name, text)`` build pipelines on disk.
- ``start_server(pipelines_dir, env=..., args=...)`` runs ``hayhooks run`` in a subprocess on a free port and
  returns a ``ServerProcess`` (``.url``, ``.client()``, ``.stop()``); it is stopped after the test.
- ``app_client(pipelines_dir, **settings)`` builds the app in-process and yields an ``httpx`` client
  (lifespan and startup deploy included).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

TESTS_DIR = Path(__file__).parent
HAYHOOKS = [sys.executable, "-m", "hayhooks"]
# Haystack decides at import time whether to send telemetry; in-process tests must stay off the network.
os.environ["HAYSTACK_TELEMETRY_ENABLED"] = "False"
# Test components live in tests/components; YAML pipelines need their module on the allowlist.
COMPONENTS_PATH = str(TESTS_DIR / "components")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_wrapper(pipelines_dir: Path, name: str, code: str, **extra_files: str) -> Path:
    folder = pipelines_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline_wrapper.py").write_text(textwrap.dedent(code))
    for file_name, content in extra_files.items():
        (folder / file_name).write_text(textwrap.dedent(content))
    return folder


def write_yaml(pipelines_dir: Path, name: str, text: str) -> Path:
    pipelines_dir.mkdir(parents=True, exist_ok=True)
    path = pipelines_dir / f"{name}.yml"
    path.write_text(textwrap.dedent(text))
    return path


def base_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAYHOOKS_") and k not in ("LOG",)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [COMPONENTS_PATH, env.get("PYTHONPATH", "")]))
    env["HAYSTACK_DESERIALIZATION_ALLOWLIST"] = "test_components"
    env["HAYSTACK_TELEMETRY_ENABLED"] = "False"
    env.update(overrides)
    return env


class ServerProcess:
    def __init__(self, proc: subprocess.Popen, port: int, log_path: Path) -> None:
        self.proc, self.port, self.log_path = proc, port, log_path
        self.url = f"http://127.0.0.1:{port}"

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 30), **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = 60, path: str = "/health/ready") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"server not ready after {timeout}s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        return self.proc.returncode


def launch_server(
    pipelines_dir: Path,
    log_dir: Path,
    *,
    verb: tuple[str, ...] = ("run",),
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    prefix: list[str] | None = None,
    cwd: Path | None = None,
    port: int | None = None,
    ready_path: str | None = "/health/ready",
) -> ServerProcess:
    """``hayhooks <verb>`` in its own session on 127.0.0.1; waits for ``ready_path`` (stopping it on failure)."""
    port = port or free_port()
    log_path = log_dir / f"{''.join(v + '-' for v in verb[:-1])}server-{port}.log"
    command = [*HAYHOOKS, *verb, "--host", "127.0.0.1", "--port", str(port), "--pipelines-dir", str(pipelines_dir)]
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [*(prefix or []), *command, *(args or [])],
            env=base_env(**(env or {})),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=cwd or log_dir,
            start_new_session=True,
        )
    server = ServerProcess(proc, port, log_path)
    if ready_path is not None:
        try:
            server.wait_ready(path=ready_path)
        except BaseException:
            server.stop()
            raise
    return server


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator:
    started: list[ServerProcess] = []

    def start(
        pipelines_dir: Path | None = None,
        *,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        wait: bool = True,
        cwd: Path | None = None,
        port: int | None = None,
    ) -> ServerProcess:
        server = launch_server(
            pipelines_dir or tmp_path / "pipelines", tmp_path, env=env, args=args, cwd=cwd, port=port, ready_path=None
        )
        started.append(server)
        if wait:
            server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def app_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """In-process app: ``with app_client(pipelines_dir, show_tracebacks=True) as client: ...``."""
    from fastapi.testclient import TestClient

    from hayhooks.server.app import create_app
    from hayhooks.settings import Settings

    monkeypatch.setenv("HAYSTACK_DESERIALIZATION_ALLOWLIST", "test_components")
    monkeypatch.syspath_prepend(COMPONENTS_PATH)

    @contextlib.contextmanager
    def make(pipelines_dir: Path | None = None, **settings) -> Iterator[TestClient]:
        settings.setdefault("pipelines_dir", str(pipelines_dir or tmp_path / "pipelines"))
        settings.setdefault("watch_pipelines_dir", False)
        app = create_app(Settings(_env_file=None, **settings))
        with TestClient(app) as client:
            client.get("/health/ready")
            for _ in range(600):
                if client.get("/health/ready").status_code == 200:
                    break
                time.sleep(0.05)
            yield client

    return make
