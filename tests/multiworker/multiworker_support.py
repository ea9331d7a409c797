"""Helpers for the multi-worker tests: a versioned slow pipeline, convergence polling, nginx, read-only dirs.

Polling always opens a fresh connection (``Connection: close``) so successive requests can reach different
workers; which worker answered is read from the ``X-Hayhooks-Worker`` header.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from conftest import ServerProcess, free_port, launch_server

WORKER_HEADER = "x-hayhooks-worker"

# A Haystack pipeline (the Sleep test component) whose answer names the code version that ran it. With
# `started`, it first writes that file, so a test knows the run is in flight before changing anything.
VERSIONED = """
from pathlib import Path

from haystack import Pipeline
from test_components import Sleep
from hayhooks import BasePipelineWrapper

CODE_VERSION = "{version}"


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = Pipeline()
        self.pipeline.add_component("sleep", Sleep())

    def run_api(self, text: str, seconds: float = 0.0, started: str = "") -> dict:
        if started:
            Path(started).write_text(CODE_VERSION)
        result = self.pipeline.run({{"sleep": {{"text": text, "seconds": seconds}}}})
        return {{"code_version": CODE_VERSION, "text": result["sleep"]["text"]}}
"""


def versioned_wrapper(version: str) -> str:
    return textwrap.dedent(VERSIONED.format(version=version))


# One client for every helper (building a client costs far more than a request); it keeps no connection open.
_CLIENT = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), timeout=30)


def fresh(method: str, url: str, **kwargs) -> httpx.Response:
    """One request on its own connection."""
    headers = {"Connection": "close", **kwargs.pop("headers", {})}
    return _CLIENT.request(method, url, headers=headers, **kwargs)


@dataclass
class Convergence:
    """What each worker last said about a pipeline's version (None = it answered 404)."""

    by_worker: dict[str, str | None] = field(default_factory=dict)
    seconds: float = 0.0
    requests: int = 0

    def all_at(self, version: str | None, workers: int) -> bool:
        return len(self.by_worker) >= workers and all(v == version for v in self.by_worker.values())


def poll_versions(
    base_urls: list[str], name: str, version: str | None, *, workers: int, timeout: float, max_requests: int = 2000
) -> Convergence:
    """Ask ``/status/{name}`` over fresh connections until ``workers`` distinct workers all report ``version``."""
    seen = Convergence()
    started = time.monotonic()
    while time.monotonic() - started < timeout and seen.requests < max_requests:
        for base in base_urls:
            response = fresh("GET", f"{base}/status/{name}")
            seen.requests += 1
            assert response.status_code in (200, 404), response.text
            seen.by_worker[response.headers[WORKER_HEADER]] = (
                response.json()["version"] if response.status_code == 200 else None
            )
        seen.seconds = time.monotonic() - started
        if seen.all_at(version, workers):
            return seen
        time.sleep(0.01)
    return seen


def deploy(base_url: str, name: str, code: str, *, overwrite: bool = False) -> httpx.Response:
    files = {"pipeline_wrapper.py": code}
    return fresh("POST", f"{base_url}/deploy_files", json={"name": name, "files": files, "overwrite": overwrite})


# --- read-only pipelines dir ------------------------------------------------------------------------------------

_RO_MOUNT = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'


def readonly_prefix(directory: Path) -> list[str] | None:
    """A command prefix that runs a command with ``directory`` mounted read-only (a private bind mount in a new
    mount namespace), or None when this machine does not allow it. Root ignores chmod, a mount it cannot."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    prefix = [unshare, "--mount", "--map-root-user", "sh", "-c", _RO_MOUNT, "sh", str(directory)]
    probe = subprocess.run(
        [*prefix, "sh", "-c", f'! touch "{directory}/.probe" 2>/dev/null'], capture_output=True, timeout=30
    )
    with contextlib.suppress(FileNotFoundError):
        (directory / ".probe").unlink()
    return prefix if probe.returncode == 0 else None


def start_prefixed_server(prefix: list[str], pipelines_dir: Path, log_dir: Path) -> ServerProcess:
    return launch_server(pipelines_dir, log_dir, prefix=prefix)


# --- nginx ------------------------------------------------------------------------------------------------------

NGINX_CONF = """
worker_processes 1;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format upstreams '$request_method $uri $status upstream=[$upstream_addr] statuses=[$upstream_status]';
    access_log {tmp}/access.log upstreams;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream hayhooks {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://hayhooks;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, upstream_ports: list[int], tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        servers = "\n".join(f"        server 127.0.0.1:{p};" for p in upstream_ports)
        user = "user root;" if os.geteuid() == 0 else ""  # workers keep access to the temp dirs
        self.conf = tmp / "nginx.conf"
        self.conf.write_text(NGINX_CONF.format(user=user, tmp=tmp, servers=servers, port=self.port))
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen(
            [nginx, "-e", str(self.tmp / "startup.log"), "-c", str(self.conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / "stderr.log", "wb"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.logs()}")
            with contextlib.suppress(httpx.HTTPError):
                fresh("GET", f"{self.url}/health/live", timeout=2)
                return
            time.sleep(0.1)
        raise TimeoutError(f"nginx did not answer: {self.logs()}")

    def logs(self) -> str:
        parts = [p.read_text(errors="replace") for p in self.tmp.glob("*.log") if p.exists()]
        return "\n".join(parts)

    def access_lines(self) -> list[str]:
        path = self.tmp / "access.log"
        return path.read_text().splitlines() if path.exists() else []

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
