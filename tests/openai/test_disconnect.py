"""Issue point 6: a client leaving mid-stream stops the pipeline, and 100 such streams leave no threads behind.

Both pipelines stream forever (10 million words, 10 ms apart): only cancellation can end their runs. The
server is a real subprocess; its thread count and resident memory are read from /proc.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from openai_support import ENDLESS_ASYNC, ENDLESS_SYNC, STATS, proc_status, running_server, write_pipelines

STREAMS = 100
THREAD_SLACK = 2  # the stream's own threads must be gone; allow the pool's idle workers this much drift
RSS_SLACK_KB = 16 * 1024

# Reads the server's count of streams still waiting for their first chunk (running streams defer to them).
NEW_STREAMS = """
from hayhooks import BasePipelineWrapper
from hayhooks.server.sse import NewStreams


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self) -> int:
        return NewStreams.waiting
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    workdir: Path = tmp_path_factory.mktemp("openai-disconnect")
    wrappers = {"endless_sync": ENDLESS_SYNC, "endless_async": ENDLESS_ASYNC, "stats": STATS, "new": NEW_STREAMS}
    with running_server(workdir, write_pipelines(workdir / "pipelines", wrappers)) as running:
        yield running


def running_generators(server) -> int:
    return httpx.post(server.url + "/stats/run", json={}, timeout=10).json()["result"]


def new_streams_waiting(server) -> int:
    return httpx.post(server.url + "/new/run", json={}, timeout=10).json()["result"]


def wait_until(predicate, attempts: int = 600, pause: float = 0.1) -> bool:
    for _ in range(attempts):
        if predicate():
            return True
        time.sleep(pause)
    return predicate()


def read_first_chunk_then_leave(http: httpx.Client, model: str) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "go"}], "stream": True}
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: {"):
                break
    # leaving the block closes the connection mid-stream


@pytest.mark.parametrize("model", ["endless_sync", "endless_async"])
def test_disconnect_cancels_the_run(server, model: str) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        read_first_chunk_then_leave(http, model)
    assert wait_until(lambda: running_generators(server) == 0), "the pipeline kept running after the client left"


def test_hundred_disconnected_streams_leave_threads_and_memory_at_baseline(server) -> None:
    pid = server.proc.pid
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for model in ("endless_sync", "endless_async") * 3:  # warm up pools, imports and allocator arenas
            read_first_chunk_then_leave(http, model)
    assert wait_until(lambda: running_generators(server) == 0)
    time.sleep(0.5)
    baseline = proc_status(pid)

    for number in range(STREAMS):
        with httpx.Client(base_url=server.url, timeout=30) as http:
            read_first_chunk_then_leave(http, "endless_sync" if number % 2 else "endless_async")

    assert wait_until(lambda: running_generators(server) == 0), "some pipelines kept running"
    assert new_streams_waiting(server) == 0, "streams that were answered still count as waiting for a first chunk"
    assert wait_until(lambda: proc_status(pid)["Threads"] <= baseline["Threads"] + THREAD_SLACK), (
        f"threads: baseline {baseline['Threads']}, now {proc_status(pid)['Threads']}"
    )
    after = proc_status(pid)
    assert after["VmRSS"] <= baseline["VmRSS"] + RSS_SLACK_KB, f"RSS grew from {baseline} to {after}"
