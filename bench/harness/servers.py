"""The three servers under test and how to start them and wait until they are ready."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import procs
from .httpcalls import try_status

BENCH_DIR = Path(__file__).resolve().parent.parent
PYLIB_DIR = BENCH_DIR / "pylib"
FLOOR_APP = BENCH_DIR / "floor_app.py"


class ServerStartError(RuntimeError):
    pass


@dataclass
class ServerSpec:
    key: str  # "ref", "ours" or "floor"
    label: str
    executable: Path  # the `hayhooks` entry point, or the Python interpreter for the floor app
    available: bool = True
    reason: str = ""  # why the server is not available
    origin: str = ""  # where its `hayhooks` package is imported from (for the report header)

    @property
    def is_floor(self) -> bool:
        return self.key == "floor"

    def argv(self, port: int, pipelines_dir: Path | None, workers: int) -> list[str]:
        if self.is_floor:
            argv = [str(self.executable), str(FLOOR_APP), "--host", "127.0.0.1", "--port", str(port)]
            if workers != 1:
                argv += ["--workers", str(workers)]
            return argv
        argv = [str(self.executable), "run", "--host", "127.0.0.1", "--port", str(port)]
        if pipelines_dir is not None:
            argv += ["--pipelines-dir", str(pipelines_dir)]
        if workers != 1:
            argv += ["--workers", str(workers)]
        return argv


def describe_hayhooks(executable: Path) -> str:
    """Where the `hayhooks` package used by ``executable`` comes from, and its version."""
    python = executable.parent / "python"
    code = (
        "import importlib.metadata as m, hayhooks, os;print(os.path.dirname(hayhooks.__file__), m.version('hayhooks'))"
    )
    try:
        done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    if done.returncode != 0:
        return "unknown (" + (done.stderr.strip().splitlines() or ["import failed"])[-1] + ")"
    return done.stdout.strip()


def server_env(work_dir: Path, pipelines_dir: Path | None) -> dict:
    """Environment of every server: no stray HAYHOOKS_* settings, our components importable."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HAYHOOKS_", "HAYSTACK_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(
        {
            "PYTHONPATH": str(PYLIB_DIR) + os.pathsep + str(BENCH_DIR),
            "PYTHONUNBUFFERED": "1",
            # Bytecode caches go to the work dir: nothing is written into the source trees, and both
            # servers start from the same state (compiled once, on their first start in a run).
            "PYTHONPYCACHEPREFIX": str(work_dir / "pycache"),
            "HAYSTACK_DESERIALIZATION_ALLOWLIST": "bench_components",
            "HAYSTACK_TELEMETRY_ENABLED": "False",
            "DO_NOT_TRACK": "1",
            # Keep whatever the servers cache (e.g. the reference's dashboard token) in the work dir.
            "XDG_CACHE_HOME": str(work_dir / "cache"),
            "HAYHOOKS_HOST": "127.0.0.1",
        }
    )
    if pipelines_dir is not None:
        env["HAYHOOKS_PIPELINES_DIR"] = str(pipelines_dir)
    return env


def start(
    spec: ServerSpec,
    work_dir: Path,
    tag: str,
    pipelines_dir: Path | None,
    expected: list[str],
    workers: int = 1,
    timeout: float = 180.0,
) -> tuple[procs.ServerProcess, float]:
    """Start a server and wait until ``GET /status`` lists every name in ``expected``.

    Returns the process and the seconds from process start until then. On failure the
    process group is stopped and ServerStartError carries the end of its log.
    """
    port = procs.free_port()
    run_dir = work_dir / "runs" / f"{spec.key}-{tag}-{port}"
    run_dir.mkdir(parents=True, exist_ok=True)
    argv = spec.argv(port, pipelines_dir, workers)
    server = procs.launch(
        spec.key, argv, port, server_env(work_dir, pipelines_dir), cwd=run_dir, log_path=run_dir / "server.log"
    )
    wanted = set(expected)
    deadline = server.started_at + timeout
    last_seen: set = set()
    unchanged_since: float | None = None  # when /status last showed a different pipeline list
    while True:
        now = time.perf_counter()
        if not server.alive():
            tail = server.log_tail()
            server.stop()
            raise ServerStartError(f"{spec.label} exited with code {server.popen.returncode}:\n{tail}")
        # Once /status answers, a list that stays incomplete for a while will stay so (a pipeline
        # failed to load); with several workers another worker may still be loading, so wait longer.
        stuck = unchanged_since is not None and now - unchanged_since > (10.0 if workers == 1 else 40.0)
        if now > deadline or stuck:
            tail = server.log_tail()
            server.stop()
            missing = sorted(wanted - last_seen)[:5]
            why = f"within {timeout:.0f}s" if not stuck else "(its list stopped changing)"
            raise ServerStartError(f"{spec.label} did not list all pipelines {why}, missing e.g. {missing}:\n{tail}")
        status = try_status(port, timeout=2.0)
        if status is None:
            time.sleep(0.01)
            continue
        seen = set(status.get("pipelines") or [])
        if wanted.issubset(seen):
            return server, time.perf_counter() - server.started_at
        if seen != last_seen or unchanged_since is None:
            last_seen, unchanged_since = seen, now
        time.sleep(0.05)


def wait_idle(server: procs.ServerProcess, min_processes: int = 1, limit: float = 30.0) -> int:
    """Wait until the server is idle and return its summed RSS in KiB.

    Idle means: at least ``min_processes`` processes, CPU use under 5% of a core and RSS changing
    by less than 1%, for about 1.5 s. With several workers, ``/status`` may already answer from
    one of them while the others are still loading pipelines; this waits for those too.
    """
    deadline = time.monotonic() + limit
    window = 0.5
    quiet_windows = 0
    previous_rss = server.rss_kb()
    previous_cpu = server.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(window)
        rss = server.rss_kb()
        cpu = server.cpu_seconds()
        idle = (cpu - previous_cpu) < 0.05 * window
        steady = abs(rss - previous_rss) <= 0.01 * max(previous_rss, 1)
        if idle and steady and server.process_count() >= min_processes:
            quiet_windows += 1
            if quiet_windows >= 3:
                return rss
        else:
            quiet_windows = 0
        previous_rss, previous_cpu = rss, cpu
    return server.rss_kb()
