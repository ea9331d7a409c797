"""While one worker's event loop is blocked, new connections are answered by the other worker.

The wrapper makes a common mistake on purpose: its ``async def run_api_async`` runs a Haystack pipeline with the
blocking ``pipeline.run``, which stops its worker's event loop for the whole run. Each round blocks one worker for
3 s and, meanwhile, sends a few requests over fresh connections: the kernel hashes about half of them onto the
blocked worker's socket, and every one must still be answered by the other worker within 1 s.
"""

from __future__ import annotations

import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import write_wrapper
from multiworker_support import WORKER_HEADER, fresh, poll_versions

from hayhooks.deploy import files as pf
from hayhooks.process import sockets

pytestmark = pytest.mark.skipif(not sockets.kernel_balances(), reason="per-worker sockets are used on Linux only")

ROUNDS = 20
BLOCK_SECONDS = 3.0
PROBES_PER_ROUND = 4  # fresh connections while a worker is blocked: about half hash onto its socket
ANSWER_WITHIN = 1.0

BLOCKING = textwrap.dedent(
    """
    import os
    from pathlib import Path

    from haystack import Pipeline
    from test_components import Sleep
    from hayhooks import BasePipelineWrapper


    class PipelineWrapper(BasePipelineWrapper):
        def setup(self) -> None:
            self.pipeline = Pipeline()
            self.pipeline.add_component("sleep", Sleep())

        async def run_api_async(self, seconds: float, started: str) -> str:
            Path(started).write_text(str(os.getpid()))
            self.pipeline.run({"sleep": {"text": "zz", "seconds": seconds}})  # blocks this worker's event loop
            return "woke up"
    """
)


def pid_of(worker: str) -> int:
    return int(worker.rsplit(":", 1)[1])


def block_one_worker(url: str, started: Path, answers: list[int]) -> tuple[threading.Thread, int]:
    """Start a blocking run on whichever worker gets the connection; returns once that worker is blocked."""
    started.unlink(missing_ok=True)
    thread = threading.Thread(
        target=lambda: answers.append(
            fresh("POST", f"{url}/blocker/run", json={"seconds": BLOCK_SECONDS, "started": str(started)}).status_code
        )
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not (started.exists() and started.read_text()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread, int(started.read_text())


def test_a_blocked_worker_does_not_hold_up_new_connections(start_server, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "blocker", BLOCKING)
    server = start_server(pipelines, args=["--workers", "2"])
    version = pf.folder_version(pipelines / "blocker")
    assert poll_versions([server.url], "blocker", version, workers=2, timeout=60).all_at(version, workers=2)

    failures: list[str] = []
    by_workers: set[int] = set()
    blocked_workers: set[int] = set()
    for round_number in range(ROUNDS):
        answers: list[int] = []
        thread, blocked = block_one_worker(server.url, tmp_path / "started", answers)
        blocked_workers.add(blocked)
        for probe in range(PROBES_PER_ROUND):
            sent = time.monotonic()
            response = fresh("GET", f"{server.url}/status/blocker", timeout=BLOCK_SECONDS * 3)
            took = time.monotonic() - sent
            worker = pid_of(response.headers[WORKER_HEADER])
            by_workers.add(worker)
            if response.status_code != 200 or worker == blocked or took >= ANSWER_WITHIN:
                failures.append(
                    f"round {round_number} probe {probe}: {response.status_code} by {worker} in {took:.2f}s"
                )
        thread.join(30)
        assert answers == [200]  # the blocking run itself completes

    assert not failures, "blocked workers held up new connections:\n" + "\n".join(failures) + server.log()[-3000:]
    assert len(by_workers) == 2 and len(blocked_workers) == 2  # both workers took part, in both roles
