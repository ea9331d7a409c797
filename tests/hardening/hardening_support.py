"""Pipelines and helpers shared by the production-hardening tests."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable

import httpx

INVOKE_KEY = "inv-3f9a1c7e5b2d4086a1e0c9b8d7f6e5a4"
ADMIN_KEY = "adm-8c1e4b7a2d5f4e90b3a6c9d2e5f8a1b4"
FILE_INVOKE_KEY = "file-inv-0b7e2c9d4a6f4c18a2e5b8d1c4f7a0e3"
FILE_ADMIN_KEY = "file-adm-5d2a8f1c6b3e4a97b0c3d6e9f2a5b8c1"
ALL_KEYS = (INVOKE_KEY, ADMIN_KEY, FILE_INVOKE_KEY, FILE_ADMIN_KEY)

# Reports what a wrapper can see of the request it serves (sync: runs on a worker thread).
CONTEXT_SYNC = """
from hayhooks import BasePipelineWrapper, get_request_context, log


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, text: str) -> dict:
        ctx = get_request_context()
        log.info("context wrapper ran for {}", text)
        return {
            "text": text,
            "key_id": ctx.key_id,
            "request_id": ctx.request_id,
            "custom": ctx.headers.get("x-custom"),
            "has_authorization": "authorization" in ctx.headers or "x-api-key" in ctx.headers,
        }
"""

CONTEXT_ASYNC = """
from hayhooks import BasePipelineWrapper, get_request_context


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    async def run_api_async(self, text: str) -> dict:
        ctx = get_request_context()
        return {"text": text, "key_id": ctx.key_id, "request_id": ctx.request_id, "custom": ctx.headers.get("x-custom")}
"""

# Sync runs that block until the test creates the file named by `gate` (bounded), so a test decides when a
# run ends instead of guessing durations. A timed-out sync run keeps its thread (and run slot) until then.
GATED = """
import time
from pathlib import Path

from haystack import Pipeline
from test_components import Upper
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    {limits}

    def setup(self) -> None:
        self.pipeline = Pipeline()
        self.pipeline.add_component("upper", Upper())

    def run_api(self, text: str, gate: str = "") -> str:
        deadline = time.monotonic() + 60
        while gate and not Path(gate).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.pipeline.run({{"upper": {{"text": text}}}})["upper"]["text"]
"""
SLEEPY = GATED.format(limits="max_concurrent_runs = 1\n    max_queued_runs = 1")
STUCK = GATED.format(limits="request_timeout = 1")

# Async: a timed-out run is cancelled; `cancelled` reports how many were.
HANGING = """
import asyncio

from hayhooks import BasePipelineWrapper

CANCELLED = []


class PipelineWrapper(BasePipelineWrapper):
    request_timeout = 1

    def setup(self) -> None:
        self.pipeline = None

    async def run_api_async(self, action: str) -> int:
        if action == "hang":
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                CANCELLED.append(1)
                raise
        return len(CANCELLED)
"""

UPPER = """
from haystack import Pipeline
from test_components import Upper
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = Pipeline()
        self.pipeline.add_component("upper", Upper())

    def run_api(self, text: str) -> str:
        return self.pipeline.run({"upper": {"text": text}})["upper"]["text"]

    def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> str:
        return self.pipeline.run({"upper": {"text": messages[-1]["content"]}})["upper"]["text"]
"""

SLOW_SETUP = """
import time

from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        time.sleep(3)
        self.pipeline = None

    def run_api(self, text: str) -> str:
        return text
"""

YAML_UPPER = """
components:
  upper:
    type: test_components.Upper
    init_parameters: {}
connections: []
inputs:
  text: upper.text
outputs:
  text: upper.text
"""


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def metric_value(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def wait_until(check: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    """Poll ``check`` (bounded); fail if it never holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if check():
                return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def launch(pipelines_dir, log_dir, env: dict[str, str] | None = None, args: list[str] | None = None, wait: bool = True):
    """``hayhooks run`` in a subprocess for a module-scoped fixture; the caller must ``.stop()`` it."""
    from conftest import launch_server

    return launch_server(pipelines_dir, log_dir, env=env, args=args, ready_path="/health/ready" if wait else None)


# A YAML pipeline with its own request timeout as a top-level key.
YAML_STUCK = """
components:
  sleep:
    type: test_components.Sleep
    init_parameters: {}
connections: []
inputs:
  text: sleep.text
  seconds: sleep.seconds
outputs:
  text: sleep.text
request_timeout: 1
"""
