"""Starting and stopping server processes, and reading their CPU time and memory from /proc.

Every server is started in a new session (``start_new_session=True``), so its pid is also the
id of its process group and of its session. All processes of the server (uvicorn's worker
children, multiprocessing helpers) stay in that session, which is how we find them again,
and we stop the server by signalling that process group only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
_LIVE: dict[int, ServerProcess] = {}  # servers started and not yet stopped, by pid
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a currently free TCP port on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _read_stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (index 0 is the state)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may itself contain spaces or parentheses.
    return raw[raw.rfind(")") + 2 :].split()


def session_pids(sid: int) -> list[int]:
    """All live processes whose session id is ``sid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _read_stat(int(entry))
        # fields[3] is the session id (field 6 of /proc/PID/stat).
        if fields is not None and int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


def session_cpu_seconds(sid: int) -> float:
    """utime+stime (plus the reaped children's cutime+cstime) of every process in the session."""
    ticks = 0
    for pid in session_pids(sid):
        fields = _read_stat(pid)
        if fields is None:
            continue
        # utime, stime, cutime, cstime are fields 14-17 of /proc/PID/stat.
        ticks += sum(int(value) for value in fields[11:15])
    return ticks / CLK_TCK


def session_rss_kb(sid: int) -> int:
    """Resident set size summed over every process in the session, in KiB."""
    total = 0
    for pid in session_pids(sid):
        try:
            # Second field of statm is the resident page count.
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return total


@dataclass
class ServerProcess:
    """One running server; ``pid`` is its session and process-group id."""

    name: str
    argv: list[str]
    port: int
    log_path: Path
    popen: subprocess.Popen
    started_at: float
    extra: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def cpu_seconds(self) -> float:
        return session_cpu_seconds(self.pid)

    def rss_kb(self) -> int:
        return session_rss_kb(self.pid)

    def process_count(self) -> int:
        return len(session_pids(self.pid))

    def log_tail(self, lines: int = 25) -> str:
        """The end of the server's log, without the access-log lines of our /status polling."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        kept = [line for line in text.splitlines() if "GET /status" not in line]
        warnings = [line for line in kept if any(word in line for word in ("WARNING", "ERROR", "Traceback"))]
        tail = kept[-lines:]
        # Warnings and errors from earlier in the log matter most when a pipeline is missing.
        earlier = [line for line in warnings[-10:] if line not in tail]
        return "\n".join(earlier + tail)

    def stop(self, grace: float = 8.0) -> None:
        """SIGTERM our process group, then SIGKILL it if it is still there after ``grace`` seconds."""
        pgid = self.pid
        if self.popen.poll() is None:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # Worker children may outlive the leader: make sure nothing of the group is left.
        deadline = time.monotonic() + grace
        while session_pids(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if session_pids(pgid):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        _LIVE.pop(pgid, None)


def launch(name: str, argv: list[str], port: int, env: dict, cwd: Path, log_path: Path) -> ServerProcess:
    """Start ``argv`` in its own session, with stdout and stderr going to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log_file:
        started_at = time.perf_counter()
        popen = subprocess.Popen(
            argv,
            cwd=str(cwd),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServerProcess(name=name, argv=argv, port=port, log_path=log_path, popen=popen, started_at=started_at)
    _LIVE[server.pid] = server
    return server


def stop_all() -> None:
    """Stop every server this harness started and has not stopped yet (used at exit)."""
    for server in list(_LIVE.values()):
        server.stop(grace=3.0)
