"""Running wrk against a server and reading its summary and the server's CPU time."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .procs import ServerProcess

LUA_POST = Path(__file__).resolve().parent.parent / "lua" / "post.lua"
RESULT_MARK = "BENCH_RESULT "


class LoadError(RuntimeError):
    pass


@dataclass
class LoadResult:
    requests: int
    seconds: float
    errors: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    cpu_ms_per_req: float | None  # server CPU (all of its processes) per completed request

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _run_wrk(url: str, body: str | None, connections: int, seconds: int, timeout_s: int = 10) -> dict:
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(LUA_POST),
        url,
    ]
    if body is not None:
        argv += ["--", body]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + timeout_s + 20)
    except subprocess.TimeoutExpired as exc:
        raise LoadError(f"wrk did not finish in time: {' '.join(argv)}") from exc
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK) :])
    raise LoadError(f"wrk printed no summary (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


def run_load(
    server: ServerProcess,
    path: str,
    body: str | None,
    connections: int,
    seconds: int,
) -> LoadResult:
    """One bounded wrk run; the server's CPU time is read from /proc right before and after it."""
    url = server.base_url + path
    cpu_before = server.cpu_seconds()
    raw = _run_wrk(url, body, connections, seconds)
    cpu_after = server.cpu_seconds()
    requests = raw["requests"]
    errors = raw["err_connect"] + raw["err_read"] + raw["err_write"] + raw["err_status"] + raw["err_timeout"]
    elapsed = raw["duration_us"] / 1e6
    if requests == 0:
        raise LoadError(f"no request completed against {url} ({errors} errors)")
    if errors > max(5, requests // 100):
        raise LoadError(
            f"{errors} errors in {requests} requests against {url} "
            f"(status {raw['err_status']}, timeout {raw['err_timeout']}, read {raw['err_read']}, "
            f"connect {raw['err_connect']})"
        )
    return LoadResult(
        requests=requests,
        seconds=elapsed,
        errors=errors,
        rps=requests / elapsed,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        cpu_ms_per_req=(cpu_after - cpu_before) * 1000 / requests,
    )


def warm_up(server: ServerProcess, path: str, body: str | None, connections: int, seconds: int = 1) -> None:
    """Unmeasured wrk run (results and errors ignored, still bounded in time)."""
    try:
        _run_wrk(server.base_url + path, body, connections, seconds)
    except LoadError:
        pass
