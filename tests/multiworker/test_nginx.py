"""nginx in front of two instances sharing a pipelines dir: deploy through it, stop one instance mid-load."""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from multiworker_support import Nginx, deploy, poll_versions, versioned_wrapper

from hayhooks.deploy import files as pf

pytestmark = pytest.mark.skipif(
    shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(), reason="nginx is not installed"
)

THREADS = 4
REQUESTS = 300  # at least, in all
MAX_REQUESTS = 3000  # bound when the stopped instance takes long to exit
AFTER_EXIT = 60  # requests still sent once the stopped instance has exited, so failover is exercised
STOP_AFTER = 100  # completed requests before one instance gets SIGTERM


@dataclass
class Outcome:
    method: str
    status: int  # 0: no HTTP answer from nginx at all


def run_load(url: str, on_progress, keep_going) -> list[Outcome]:  # type: ignore[no-untyped-def]
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    counter = iter(range(MAX_REQUESTS))

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            while True:
                with lock:
                    index = next(counter, None)
                if index is None or (index >= REQUESTS and not keep_going()):
                    return
                method = "POST" if index % 2 == 0 else "GET"
                try:
                    if method == "POST":
                        status = client.post("/slow/run", json={"text": str(index), "seconds": 0.01}).status_code
                    else:
                        status = client.get("/status/slow").status_code
                except httpx.HTTPError:
                    status = 0
                with lock:
                    outcomes.append(Outcome(method, status))
                    done = len(outcomes)
                on_progress(done)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcomes


def test_no_retryable_request_fails_when_an_instance_stops_mid_load(start_server, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    env = {"HAYHOOKS_GRACEFUL_SHUTDOWN_TIMEOUT": "10"}
    instances = [start_server(pipelines, env=env, wait=False) for _ in range(2)]
    for instance in instances:
        instance.wait_ready()
    (tmp_path / "nginx").mkdir()
    nginx = Nginx([i.port for i in instances], tmp_path / "nginx")
    nginx.start()
    try:
        response = deploy(nginx.url, "slow", versioned_wrapper("v1"))
        assert response.status_code == 200, response.text
        version = pf.folder_version(pipelines / "slow")  # saved before the deploy answered
        seen = poll_versions([i.url for i in instances], "slow", version, workers=2, timeout=2.0)
        assert seen.all_at(version, workers=2), seen

        victim = instances[0]
        stopper = threading.Thread(target=victim.stop)

        exited_at: list[int] = []

        def on_progress(done: int) -> None:
            if done == STOP_AFTER:
                stopper.start()
            if not exited_at and victim.proc.poll() is not None:
                exited_at.append(done)

        def keep_going() -> bool:
            return not exited_at or len(outcomes_so_far) < exited_at[0] + AFTER_EXIT

        outcomes_so_far: list[int] = []
        outcomes = run_load(nginx.url, lambda done: (outcomes_so_far.append(done), on_progress(done)), keep_going)
        stopper.join(30)
    finally:
        nginx.stop()

    assert victim.proc.returncode is not None, "the instance did not stop"
    assert len(outcomes) >= REQUESTS
    assert exited_at, "the stopped instance did not exit while the load ran"
    failed = [o for o in outcomes if o.status != 200]
    # A GET is always retried on the other instance, and so is a POST that never reached the stopped one.
    # Only a POST already handed to the stopping instance may fail (nginx never runs a pipeline twice).
    retryable = [o for o in failed if o.method != "POST" or o.status != 502]
    assert retryable == [], (failed, nginx.logs())
    lines = nginx.access_lines()
    # Failover: the requests completed last (sent after the stopped instance exited) were all answered by the
    # survivor, whether nginx tried the stopped one first ("upstream=[stopped, survivor]") or had already marked
    # it down after a failure (then only the survivor is named).
    survivor = f"127.0.0.1:{instances[1].port}"
    last = lines[-AFTER_EXIT // 2 :]
    assert all(survivor in line.split("upstream=")[1] for line in last), "no failover:\n" + "\n".join(lines)
    # Each client thread has at most one request in flight when the instance stops.
    assert len(failed) <= THREADS, f"{len(failed)} POSTs failed; nginx logs:\n{nginx.logs()}"
    victim_address = f"127.0.0.1:{victim.port}"
    for line in lines:
        if line.startswith("POST ") and " 502 " in line:
            assert f"upstream=[{victim_address}]" in line, line  # sent once, to the instance that stopped
