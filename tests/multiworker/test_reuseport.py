"""Several workers, each accepting connections from its own SO_REUSEPORT socket on the one address.

The socket layout (which worker accepts on which listening socket) is read from /proc, so these checks do not depend on
how the kernel happens to hash a few connections; where connections are counted, enough are opened that a fair
spread misses a worker with negligible probability.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from conftest import HAYHOOKS, ServerProcess, base_env, write_wrapper
from multiworker_support import WORKER_HEADER, fresh, versioned_wrapper
from reuseport_support import listening_inodes, one_socket_each, stand_in_worker, wait_for_one_socket_each
from uvicorn.config import STARTUP_FAILURE

from hayhooks.process import APP_FACTORY, sockets, supervisor
from hayhooks.process.sockets import worker_sockets

pytestmark = pytest.mark.skipif(not sockets.kernel_balances(), reason="per-worker sockets are used on Linux only")

KEEP_ALIVE_CONNECTIONS = 8  # the benchmark's concurrency
ROUNDS = 5  # 8 fair connections all on one of 2 workers: 1 in 128; 5 rounds in a row: about 1 in 3.4e10


def worker_pid(response: httpx.Response) -> int:
    return int(response.headers[WORKER_HEADER].rsplit(":", 1)[1])


def two_workers(start_server, tmp_path: Path) -> tuple[ServerProcess, dict[int, set[int]]]:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "echo", versioned_wrapper("v1"))
    server = start_server(pipelines, args=["--workers", "2"])
    return server, wait_for_one_socket_each(server.proc.pid, server.port, workers=2)


def reach(server: ServerProcess, pid: int, attempts: int = 400) -> bool:
    """Whether worker ``pid`` runs the pipeline over one of ``attempts`` fresh connections."""
    for _ in range(attempts):
        response = fresh("POST", f"{server.url}/echo/run", json={"text": "hi"})
        if worker_pid(response) == pid and response.status_code == 200:
            return True
        if response.status_code != 200:
            time.sleep(0.05)  # a worker just started, still deploying
    return False


def test_spawned_workers_each_claim_a_socket_and_a_replacement_takes_over_a_dead_ones(tmp_path: Path) -> None:
    config = uvicorn.Config(APP_FACTORY, host="127.0.0.1", port=0, workers=2, log_config=None)
    spawn = multiprocessing.get_context("spawn")
    started: list[tuple[multiprocessing.Process, object]] = []

    def start() -> tuple[multiprocessing.Process, int | None, list[int]]:
        parent_end, child_end = spawn.Pipe()
        process = spawn.Process(target=stand_in_worker, args=(listeners, child_end))
        process.start()
        started.append((process, parent_end))
        assert parent_end.poll(60), "the stand-in worker did not report"
        slot, inodes, length = parent_end.recv()
        assert length == len(inodes)
        return process, slot, inodes

    with worker_sockets(config) as listeners:
        try:
            ports = {sock.getsockname() for sock in listeners}
            assert len(listeners) == 2 and len(ports) == 1  # port 0 resolved once, for both
            assert all(sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) for sock in listeners)
            everything = sorted(os.fstat(sock.fileno()).st_ino for sock in listeners)

            first, first_slot, first_inodes = start()
            second, second_slot, second_inodes = start()
            assert {first_slot, second_slot} == {0, 1}
            assert len(first_inodes) == len(second_inodes) == 1
            assert sorted(first_inodes + second_inodes) == everything

            extra, extra_slot, extra_inodes = start()  # every slot taken: it listens on all of them
            assert extra_slot is None and extra_inodes == everything
            assert listeners.holders({first.pid, second.pid, extra.pid}) == {first.pid, second.pid}

            os.kill(first.pid, signal.SIGKILL)  # the kernel drops its lock: its slot is free again
            first.join(30)
            replacement, replacement_slot, replacement_inodes = start()
            assert (replacement_slot, replacement_inodes) == (first_slot, first_inodes)
            assert listeners.holders({second.pid, extra.pid, replacement.pid}) == {second.pid, replacement.pid}

            assert len(list(listeners)) == 2  # the parent's list is never narrowed
        finally:
            for process, end in started:
                if process.is_alive():
                    end.send("exit")
                process.join(30)
        slots_dir = Path(listeners.slots_dir)
        assert slots_dir.is_dir()
    assert not slots_dir.exists()
    assert all(sock.fileno() == -1 for sock in listeners)


def test_keep_alive_connections_reach_both_workers_each_on_its_own_socket(start_server, tmp_path: Path) -> None:
    server, workers = two_workers(start_server, tmp_path)
    assert len(listening_inodes(server.port)) == 2

    seen: set[int] = set()
    for _ in range(ROUNDS):
        clients = [server.client() for _ in range(KEEP_ALIVE_CONNECTIONS)]
        try:
            for client in clients:
                answers = {worker_pid(client.post("/echo/run", json={"text": "hi"})) for _ in range(3)}
                assert len(answers) == 1, answers  # one keep-alive connection: one worker
                seen |= answers
        finally:
            for client in clients:
                client.close()
        if len(seen) == 2:
            break
    assert seen == set(workers)


def test_a_killed_worker_is_replaced_and_the_replacement_serves_on_its_socket(start_server, tmp_path: Path) -> None:
    server, before = two_workers(start_server, tmp_path)
    victim, survivor = sorted(before)
    os.kill(victim, signal.SIGKILL)

    after = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        after = one_socket_each(server.proc.pid, server.port, workers=2)
        if after is not None and victim not in after:
            break
        time.sleep(0.1)
    assert after is not None and victim not in after, server.log()
    (replacement,) = set(after) - {survivor}
    assert after[survivor] == before[survivor]
    assert after[replacement] == before[victim]  # the parent kept the socket; the replacement took it over
    assert reach(server, replacement), server.log()
    assert reach(server, survivor)


def test_after_sighup_each_new_worker_has_its_own_socket_and_sigttou_keeps_them(start_server, tmp_path: Path) -> None:
    server, before = two_workers(start_server, tmp_path)
    parent = server.proc.pid

    # uvicorn restarts one worker at a time, the new one first, and aborts a restart whose new worker is not ready
    # within 5s; on a busy machine a worker can take that long to start, so the signal is sent again.
    after = None
    for _ in range(3):
        aborted = server.log().count("not ready in time")
        os.kill(parent, signal.SIGHUP)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            after = one_socket_each(parent, server.port, workers=2)
            if after is not None and not set(after) & set(before):
                break
            if server.log().count("not ready in time") > aborted:
                break
            time.sleep(0.2)
        if after is not None and not set(after) & set(before):
            break
        time.sleep(2)  # let the supervisor finish the aborted restart
    assert after is not None and not set(after) & set(before), server.log()
    assert set().union(*after.values()) == set().union(*before.values())  # the same sockets, new workers
    for pid in after:
        assert reach(server, pid), server.log()

    os.kill(parent, signal.SIGTTOU)  # two workers for two sockets: refused
    deadline = time.monotonic() + 30
    while "Received SIGTTOU, but" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Received SIGTTOU, but" in server.log()
    assert one_socket_each(parent, server.port, workers=2) == after


def test_a_port_in_use_fails_at_startup_even_with_another_hayhooks_on_it(start_server, tmp_path: Path) -> None:
    def run_on(port: int) -> subprocess.CompletedProcess:
        command = [*HAYHOOKS, "run", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
        args = ["--pipelines-dir", str(tmp_path / "empty")]
        return subprocess.run([*command, *args], env=base_env(), capture_output=True, text=True, timeout=120)

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_on(taken.getsockname()[1])
    assert result.returncode == STARTUP_FAILURE, result.stderr
    assert "Address already in use" in result.stderr

    # SO_REUSEPORT would let a second server of the same user share the port; it is refused instead.
    server, workers = two_workers(start_server, tmp_path)
    result = run_on(server.port)
    assert result.returncode == STARTUP_FAILURE, result.stderr
    assert "Address already in use" in result.stderr
    assert one_socket_each(server.proc.pid, server.port, workers=2) == workers
    assert fresh("GET", f"{server.url}/health/live").status_code == 200


def test_the_server_exits_with_startup_failure_when_a_worker_failed_to_start(monkeypatch) -> None:
    class FailedWorker:
        exitcode = STARTUP_FAILURE

    class Supervisor:  # uvicorn's stops when a worker exits with STARTUP_FAILURE
        def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
            self.processes: list[FailedWorker] = []

        def run(self) -> None:
            self.processes = [FailedWorker()]

    monkeypatch.setattr(supervisor, "Supervisor", Supervisor)
    config = uvicorn.Config(APP_FACTORY, host="127.0.0.1", port=0, workers=2, log_config=None)
    with pytest.raises(SystemExit) as exited:
        supervisor.serve_workers(config)
    assert exited.value.code == STARTUP_FAILURE
