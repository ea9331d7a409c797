"""Optional py-spy profiles of our server under load (``run.py --profile``), summarised as text.

Our server is started once with the run pipelines. For each workload, py-spy samples it (without
pausing it: ``--nonblocking``) while the harness's own load generators drive it: wrk on
``POST /noop/run`` at c=16, then the streaming client with 32 streams. The raw stacks go to
``results/raw/profile-<workload>.raw`` (git-ignored) and a short summary, top functions by own and by
cumulative samples and a split by layer, to ``results/profile-<workload>.txt``.

The whole step is bounded: it has a budget of ``TOTAL_BUDGET`` seconds from the server's start, and the
recordings shrink when the server is slow to start.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import pipelines, procs
from .loadgen import LoadError, run_load, warm_up
from .servers import BENCH_DIR, ServerSpec, ServerStartError, start, wait_idle
from .streamclient import StreamError, run_stream_load, stream_once

TOTAL_BUDGET = 60.0  # seconds for the whole profile step, server start included
RECORD_SECONDS = 10  # per workload, when the budget allows
SAMPLE_RATE = 250  # samples per second
START_TIMEOUT = 25.0
NOOP_CONNECTIONS = 16
STREAM_CLIENTS = 32
TOP = 20

GROUPS = ("uvicorn/httptools", "starlette/fastapi", "hayhooks", "haystack", "threading/asyncio", "other")
# Top-level package (the folder or module right under site-packages) -> group.
_PACKAGE_GROUPS = {
    "uvicorn": "uvicorn/httptools",
    "httptools": "uvicorn/httptools",
    "h11": "uvicorn/httptools",
    "starlette": "starlette/fastapi",
    "fastapi": "starlette/fastapi",
    "hayhooks": "hayhooks",
    "haystack": "haystack",
    "haystack_experimental": "haystack",
    "anyio": "threading/asyncio",
    "sniffio": "threading/asyncio",
    "uvloop": "threading/asyncio",
}
# Standard-library modules (file names, or folders) that are thread and event-loop machinery.
_STDLIB_LOOP = {"threading.py", "selectors.py", "queue.py", "asyncio", "concurrent", "socketserver.py"}
# Innermost frames (standard-library file, function) that mean "this thread is blocked, waiting".
_WAIT_LEAVES = {
    ("threading.py", "Condition.wait"),
    ("threading.py", "Event.wait"),
    ("threading.py", "Semaphore.acquire"),
    ("threading.py", "Thread.join"),
    ("threading.py", "Thread._wait_for_tstate_lock"),
    ("queue.py", "Queue.get"),
    ("queue.py", "Queue.put"),
    ("selectors.py", "EpollSelector.select"),
    ("selectors.py", "PollSelector.select"),
    ("selectors.py", "SelectSelector.select"),
}
_SITE_DIRS = ("site-packages", "dist-packages")
_PY_LIB_RE = re.compile(r"^python3\.\d+$")


def say(message: str) -> None:
    print(message, flush=True)


def _display(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    try:
        return str(path.resolve().relative_to(BENCH_DIR.parent))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- py-spy


def find_py_spy(ours: Path, reference_venv: Path) -> str:
    """py-spy from our virtualenv or PATH; pip-installed into our virtualenv when missing."""
    local = ours.parent / "py-spy"
    if local.exists() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which("py-spy")
    if found:
        return found
    try:
        ours.parent.resolve().relative_to(reference_venv.resolve())
    except ValueError:
        pass
    else:
        raise RuntimeError(f"{ours} is in the reference virtualenv: not installing py-spy there")
    python = ours.parent / "python"
    say(f"[setup] py-spy not found: installing it into {ours.parent.parent} (pip install py-spy)")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "py-spy"],
        check=True,
        timeout=600,
    )
    if not local.exists():
        raise RuntimeError(f"py-spy is still missing from {ours.parent} after installing it")
    return str(local)


def _record(py_spy: str, pid: int, seconds: int, raw_path: Path, log_path: Path, subprocesses: bool):
    argv = [
        py_spy,
        "record",
        "-p",
        str(pid),
        "-d",
        str(seconds),
        "-r",
        str(SAMPLE_RATE),
        "-f",
        "raw",
        "-o",
        str(raw_path),
        "--nonblocking",
        "--full-filenames",  # grouping needs the path (site-packages/<package>/...), not just the file name
    ]
    if subprocesses:
        argv.append("--subprocesses")
    with open(log_path, "wb") as log:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT), argv


def _finish(spy: subprocess.Popen, timeout: float) -> None:
    """Wait for py-spy; interrupt it (it then writes what it has) and finally kill it if it hangs."""
    try:
        spy.wait(timeout=timeout)
        return
    except subprocess.TimeoutExpired:
        pass
    for sig, wait in ((signal.SIGINT, 5), (signal.SIGKILL, 5)):
        try:
            os.kill(spy.pid, sig)
        except ProcessLookupError:
            return
        try:
            spy.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# --------------------------------------------------------------------------- summary


def _group(path: str) -> str:
    parts = Path(path).parts
    for site in _SITE_DIRS:
        if site in parts:
            index = parts.index(site)
            package = parts[index + 1] if index + 1 < len(parts) else ""
            package = package.split(".")[0]  # a single-file module (six.py) or a compiled one (x.cpython-311.so)
            return _PACKAGE_GROUPS.get(package, "other")
    for index in range(len(parts) - 1):
        if parts[index] == "src" and parts[index + 1] == "hayhooks":
            return "hayhooks"
    for index in range(len(parts) - 1):
        if parts[index] == "lib" and _PY_LIB_RE.match(parts[index + 1]):
            rest = parts[index + 2 : index + 3]
            return "threading/asyncio" if rest and rest[0] in _STDLIB_LOOP else "other"
    return "other"


def _short(path: str) -> str:
    parts = Path(path).parts
    for site in _SITE_DIRS:
        if site in parts:
            return "/".join(parts[parts.index(site) + 1 :])
    for index in range(len(parts) - 1):
        if parts[index] == "src" and parts[index + 1] == "hayhooks":
            return "/".join(parts[index + 1 :])
        if parts[index] == "lib" and _PY_LIB_RE.match(parts[index + 1]):
            return "/".join(parts[index + 2 :])
    return "/".join(parts[-2:])


def _parse_frame(frame: str) -> tuple[str, str]:
    """``"func (path:line)"`` -> (func, path)."""
    func, sep, location = frame.rpartition(" (")
    if not sep or not location.endswith(")"):
        return frame, ""
    location = location[:-1]
    path, colon, line = location.rpartition(":")
    return func, (path if colon and line.isdigit() else location)


@dataclass
class Profile:
    samples: int = 0
    own: Counter = field(default_factory=Counter)  # (func, path) -> samples where it is the innermost frame
    cumulative: Counter = field(default_factory=Counter)  # (func, path) -> samples where it is on the stack
    group_own: Counter = field(default_factory=Counter)
    group_busy: Counter = field(default_factory=Counter)  # like group_own, without samples blocked in a wait
    group_cumulative: Counter = field(default_factory=Counter)
    depth: dict = field(default_factory=dict)  # (func, path) -> smallest depth seen (0 = outermost frame)
    waiting: int = 0  # samples whose innermost frame is a blocking wait (_WAIT_LEAVES)


def parse_raw(text: str) -> Profile:
    """py-spy's raw (collapsed-stack) output: ``frame;frame;...;innermost COUNT`` per line."""
    profile = Profile()
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        # With --subprocesses each stack starts with a "process PID:cmdline" pseudo-frame.
        frames = [_parse_frame(f) for f in stack.split(";") if f and not f.startswith("process ")]
        if not frames:
            continue
        profile.samples += count
        leaf = frames[-1]
        profile.own[leaf] += count
        profile.group_own[_group(leaf[1])] += count
        if _group(leaf[1]) == "threading/asyncio" and (Path(leaf[1]).name, leaf[0]) in _WAIT_LEAVES:
            profile.waiting += count
        else:
            profile.group_busy[_group(leaf[1])] += count
        for depth, key in enumerate(frames):
            profile.depth[key] = min(depth, profile.depth.get(key, depth))
        for key in set(frames):
            profile.cumulative[key] += count
        for group in {_group(path) for _func, path in frames}:
            profile.group_cumulative[group] += count
    return profile


def _collapse_chains(profile: Profile) -> list[tuple[tuple[str, str], int]]:
    """Functions by cumulative samples, each call chain with the very same count shown once.

    The outer frames of a thread (entry point, CLI, server start, event loop) all share one count;
    only the innermost of them is kept, with the number of outer frames it stands for.
    """
    by_count: dict[int, list[tuple[str, str]]] = {}
    for key, count in profile.cumulative.items():
        by_count.setdefault(count, []).append(key)
    rows = []
    for count, keys in by_count.items():
        innermost = max(keys, key=lambda k: profile.depth.get(k, 0))
        rows.append((innermost, count, len(keys) - 1))
    rows.sort(key=lambda row: row[1], reverse=True)
    return [((key, hidden), count) for key, count, hidden in rows]


def summarize(profile: Profile, title: str, details: list[str]) -> str:
    total = profile.samples or 1

    def pct(value: int, of: int = total) -> str:
        return f"{100 * value / (of or 1):5.1f}%"

    busy_total = total - profile.waiting
    lines = [title, "", *[f"- {d}" for d in details], ""]
    lines += [
        "Samples by layer. own: the innermost frame is in that layer; own, not waiting: the same without the"
        f" {pct(profile.waiting).strip()} of samples blocked in a wait (Condition.wait, Queue.get, select, ...),"
        " as a share of the rest; on stack: any frame is in that layer.",
        "",
        f"  {'layer':<20} {'own':>7} {'own, not waiting':>17} {'on stack':>9}",
    ]
    for group in GROUPS:
        lines.append(
            f"  {group:<20} {pct(profile.group_own[group]):>7} {pct(profile.group_busy[group], busy_total):>17}"
            f" {pct(profile.group_cumulative[group]):>9}"
        )

    def header(heading: str) -> None:
        lines.extend(["", heading, "", f"  {'own':>6} {'cum':>6}  {'layer':<18} function (file)"])

    def row(key: tuple[str, str], suffix: str = "") -> None:
        func, path = key
        lines.append(
            f"  {pct(profile.own[key]):>6} {pct(profile.cumulative[key]):>6}  {_group(path):<18} "
            f"{func} ({_short(path) or '?'}){suffix}"
        )

    header(f"Top {TOP} functions by own samples:")
    for key, _count in profile.own.most_common(TOP):
        row(key)
    header(f"Top {TOP} functions by cumulative samples (a chain of callers with the same count is shown once):")
    for (key, hidden), _count in _collapse_chains(profile)[:TOP]:
        row(key, f"  [+{hidden} outer frame{'s' if hidden > 1 else ''}]" if hidden else "")
    lines += [
        "",
        "Reading it: C code has no Python frame of its own, so time in uvloop's event loop and httptools' parser"
        " counts to the Python frame that runs them (Runner.run for the loop), and a thread blocked in a C"
        " lock.acquire shows as its Python caller. py-spy leaves out threads it sees idle, but threads that wake"
        " up often are still sampled while they wait.",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the step


def _drive(workload: str, port: int, server: procs.ServerProcess, seconds: int) -> str:
    """Run the workload's load for ``seconds`` and describe what it achieved."""
    if workload == "noop":
        res = run_load(server, "/noop/run", pipelines.RUN_WORKLOADS["noop"], NOOP_CONNECTIONS, seconds)
        return (
            f"load: wrk, {NOOP_CONNECTIONS} connections, POST /noop/run for {seconds} s: {res.rps:.0f} req/s, "
            f"p99 {res.p99_ms:.2f} ms, server CPU {res.cpu_ms_per_req:.3f} ms/request (while sampled)"
        )
    cpu_before = server.cpu_seconds()
    stats = run_stream_load(port, "stream", STREAM_CLIENTS, float(seconds))
    cpu_used = server.cpu_seconds() - cpu_before
    if stats.errors or not stats.requests:
        raise StreamError(stats.errors[0] if stats.errors else "no stream completed")
    per_chunk = cpu_used * 1e6 / stats.chunks if stats.chunks else float("nan")
    return (
        f"load: {STREAM_CLIENTS} keep-alive streaming clients, POST /v1/chat/completions (200 chunks each) for "
        f"{seconds} s: {stats.chunks_per_s:.0f} chunks/s, server CPU {per_chunk:.1f} us/chunk, "
        f"client busy {100 * stats.client_busy:.0f}% of a core"
    )


def run_profiles(
    spec: ServerSpec, cpu_iterations: int, work: Path, out_dir: Path, raw_dir: Path, reference_venv: Path
) -> list[Path]:
    """Profile our server under the no-op run and the streaming workloads; returns the summaries written."""
    if not spec.available:
        say(f"  profile: skipped, {spec.label} is unavailable ({spec.reason})")
        return []
    try:
        py_spy = find_py_spy(spec.executable, reference_venv)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        say(f"  profile: skipped, no py-spy: {exc}")
        return []
    deadline = time.monotonic() + TOTAL_BUDGET
    pdir = work / "pipelines" / "profile"
    names = pipelines.write_run_set(pdir, cpu_iterations)
    try:
        server, started = start(spec, work, "profile", pdir, names, timeout=START_TIMEOUT)
    except ServerStartError as exc:
        say(f"  profile: {spec.label} failed to start: {str(exc).splitlines()[0]}")
        return []
    written: list[Path] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    raw_dir.mkdir(parents=True, exist_ok=True)
    try:
        say(f"  profile: {spec.label} started in {started:.1f} s (pid {server.pid}); py-spy: {py_spy}")
        wait_idle(server, limit=min(5.0, max(0.0, deadline - time.monotonic() - 20)))
        workloads = ["noop", "stream"]
        for index, workload in enumerate(workloads):
            left = deadline - time.monotonic()
            # Each workload needs about 1 s of warm-up, the recording, and ~3 s for py-spy to attach and write.
            seconds = int(min(RECORD_SECONDS, left / (len(workloads) - index) - 4))
            if seconds < 2:
                say(f"  profile {workload}: skipped, out of time ({left:.0f} s of the {TOTAL_BUDGET:.0f} s left)")
                continue
            try:
                if workload == "noop":
                    warm_up(server, "/noop/run", pipelines.RUN_WORKLOADS["noop"], NOOP_CONNECTIONS, 1)
                else:
                    chunks, _first = stream_once(server.port, "stream")
                    if chunks != pipelines.STREAM_CHUNKS:
                        raise StreamError(f"{chunks} content chunks instead of {pipelines.STREAM_CHUNKS}")
                    run_stream_load(server.port, "stream", STREAM_CLIENTS, 1.0)
            except (OSError, StreamError, ValueError) as exc:
                say(f"  profile {workload}: skipped, the workload fails: {type(exc).__name__}: {exc}")
                continue
            raw_path = raw_dir / f"profile-{workload}.raw"
            raw_path.unlink(missing_ok=True)
            log_path = work / f"py-spy-{workload}.log"
            several = len(procs.session_pids(server.pid)) > 1
            spy, argv = _record(py_spy, server.pid, seconds, raw_path, log_path, several)
            load_line = None
            try:
                # The load runs a second longer than the recording, which starts as soon as py-spy is attached.
                load_line = _drive(workload, server.port, server, seconds + 1)
            except (OSError, LoadError, StreamError, ValueError) as exc:
                say(f"  profile {workload}: the load failed: {type(exc).__name__}: {exc}")
            finally:
                _finish(spy, timeout=max(5.0, seconds + 5.0))
            log_text = log_path.read_text(errors="replace") if log_path.exists() else ""
            if load_line is None:
                continue
            if not raw_path.exists():
                tail = " | ".join(log_text.strip().splitlines()[-3:])
                say(f"  profile {workload}: py-spy wrote nothing (exit {spy.returncode}): {tail}")
                continue
            profile = parse_raw(raw_path.read_text(errors="replace"))
            counts = re.search(r"Samples: (\d+) Errors: (\d+)", log_text)
            sampled = f"{counts.group(1)} samples, {counts.group(2)} errors" if counts else "counts not reported"
            target = "POST /noop/run, wrk c=16" if workload == "noop" else f"{STREAM_CLIENTS} streams"
            details = [
                f"date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; "
                f"command: python3 bench/run.py {' '.join(sys.argv[1:])}",
                f"server: {spec.origin}, 1 worker (started in {started:.1f} s)",
                load_line,
                f"sampling: py-spy record -r {SAMPLE_RATE} -d {seconds} -f raw --nonblocking --full-filenames"
                f"{' --subprocesses' if several else ''}: {sampled}; {profile.samples} thread samples in the stacks"
                " (idle threads are not sampled; py-spy itself shares the machine's CPUs)",
                f"raw stacks: {_display(raw_path)} (collapsed-stack format, e.g. for flamegraph.pl; git-ignored)",
            ]
            out_path = out_dir / f"profile-{workload}.txt"
            out_path.write_text(summarize(profile, f"py-spy profile of ours: {target}", details))
            written.append(out_path)
            say(f"  profile {workload}: {profile.samples} samples, written to {_display(out_path)}")
            total = profile.samples or 1
            say(
                "    own samples by layer: "
                + ", ".join(f"{g} {100 * profile.group_own[g] / total:.0f}%" for g in GROUPS)
            )
    finally:
        server.stop()
        say(f"  profile: done in {time.monotonic() - deadline + TOTAL_BUDGET:.0f} s (budget {TOTAL_BUDGET:.0f} s)")
    return written
