"""SIGTERM: in-flight requests finish and get their answer, then the server exits 0 (one or two workers)."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import write_wrapper
from hardening_support import UPPER, metric_value, wait_until

SLOW = """
from haystack import Pipeline
from test_components import Sleep
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = Pipeline()
        self.pipeline.add_component("sleep", Sleep())

    def run_api(self, text: str, seconds: float = 2.0) -> str:
        return self.pipeline.run({"sleep": {"text": text, "seconds": seconds}})["sleep"]["text"]
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_lets_a_two_second_request_finish_then_exits_zero(start_server, tmp_path: Path, workers: int) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "slow", SLOW)
    write_wrapper(pipelines, "upper", UPPER)
    server = start_server(pipelines, args=["--workers", str(workers)], env={"HAYHOOKS_GRACEFUL_SHUTDOWN_TIMEOUT": "30"})
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(httpx.post, f"{server.url}/slow/run", json={"text": "done", "seconds": 2}, timeout=60)

        def slow_run_started() -> bool:
            text = httpx.get(f"{server.url}/metrics", timeout=5).text
            return metric_value(text, "hayhooks_runs_in_flight", pipeline="slow") == 1

        wait_until(slow_run_started, what="the slow run to start")
        server.proc.send_signal(signal.SIGTERM)  # to the main process only, as an orchestrator does
        returncode = server.proc.wait(60)
        response = pending.result()
    assert response.status_code == 200 and response.json() == {"result": "done"}
    assert returncode == 0, server.log()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/health/live", timeout=2)
