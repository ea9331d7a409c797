"""Durable wrappers and helpers shared by the durable tests."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

# One wrapper exercising every DurableContext method; the request says which path to take.
JOB_WRAPPER = '''
import asyncio
import os
import time
from pathlib import Path

from haystack import Pipeline, component
from pydantic import BaseModel

from hayhooks import BasePipelineWrapper, DurableContext


@component
class Double:
    @component.output_types(value=int)
    def run(self, value: int, log: str = "") -> dict:
        if log:
            with open(log, "a") as f:
                f.write(f"double {os.getpid()}\\n")
        return {"value": value * 2}


@component
class Gate:
    """Waits while a marker file exists: lets tests kill the worker mid-pipeline, after a checkpoint."""

    @component.output_types(value=int)
    def run(self, value: int, hold: str = "", log: str = "") -> dict:
        if log:
            with open(log, "a") as f:
                f.write(f"gate {os.getpid()}\\n")
        while hold and Path(hold).exists():
            time.sleep(0.05)
        return {"value": value + 1}


class Job(BaseModel):
    n: int = 1
    approve: bool = False
    fail: bool = False
    retry_times: int = 0
    sleep: float = 0
    chunks: int = 0
    hold: str = ""
    log: str = ""


class Approval(BaseModel):
    approved: bool
    note: str = ""


class Result(BaseModel):
    value: int
    attempt: int
    approved: bool | None = None
    note: str = ""
    state: dict = {}


class PipelineWrapper(BasePipelineWrapper):
    """A durable test job."""

    durable_revision = "REVISION"
    durable_resume_model = Approval

    def setup(self) -> None:
        self.pipeline = Pipeline()
        self.pipeline.add_component("double", Double())
        self.pipeline.add_component("gate", Gate())
        self.pipeline.connect("double.value", "gate.value")

    async def run_durable_async(self, context: DurableContext, request: Job) -> Result:
        context.state.setdefault("starts", 0)
        context.state["starts"] += 1
        await context.report_progress("started", metadata={"n": request.n})
        await context.checkpoint()
        for i in range(request.chunks):
            await context.stream_chunk({"i": i})
        if context.attempt <= request.retry_times:
            await context.retry(f"retry {context.attempt}", delay=0.05)
        deadline = time.monotonic() + request.sleep
        while time.monotonic() < deadline:
            await context.check_cancelled()
            await asyncio.sleep(0.02)
        if request.fail:
            raise ValueError("secret detail")
        approved, note = None, ""
        if request.approve:
            if context.resume_input is None:
                await context.suspend({"kind": "approval", "question": f"double {request.n}?"})
            answer = Approval.model_validate(context.take_resume_input())
            approved, note = answer.approved, answer.note
        out = await context.run_pipeline_async(
            {"double": {"value": request.n, "log": request.log}, "gate": {"hold": request.hold, "log": request.log}},
            checkpoint_at=["gate"],
        )
        return Result(
            value=out["gate"]["value"], attempt=context.attempt, approved=approved, note=note, state=context.state
        )
'''

SYNC_WRAPPER = """
from pydantic import BaseModel

from hayhooks import BasePipelineWrapper, DurableContext, current_durable_context


class Req(BaseModel):
    text: str


class Out(BaseModel):
    upper: str
    same_context: bool


class PipelineWrapper(BasePipelineWrapper):
    durable_revision = "sync-1"

    def setup(self) -> None:
        self.pipeline = None

    def run_durable(self, context: DurableContext, request: Req) -> Out:
        context.report_progress_sync("sync start", kind="step")
        context.stream_chunk_sync({"text": request.text})
        context.checkpoint_sync()
        context.check_cancelled_sync()
        return Out(upper=request.text.upper(), same_context=current_durable_context() is context)
"""


def job_wrapper(revision: str = "rev-1") -> str:
    return JOB_WRAPPER.replace("REVISION", revision)


def wait_status(client: httpx.Client, location: str, statuses: set[str], timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            body = client.get(location).json()
        except httpx.TransportError:  # a worker was just killed under this connection
            time.sleep(0.05)
            continue
        if body.get("status") in statuses:
            return body
        time.sleep(0.05)
    raise AssertionError(f"execution never reached {statuses}: {body}")


def sse_events(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":"):
                continue
            key, _, value = line.partition(": ")
            fields[key] = value
        if fields:
            events.append(fields)
    return events


@contextlib.contextmanager
def app_without_ready_wait(pipelines_dir: Path, **settings: Any) -> Iterator[Any]:
    """The app in-process, for tests where ``/health/ready`` is expected to say 503 (store down)."""
    from fastapi.testclient import TestClient

    from hayhooks.server.app import create_app
    from hayhooks.settings import Settings

    settings.setdefault("pipelines_dir", str(pipelines_dir))
    settings.setdefault("watch_pipelines_dir", False)
    app = create_app(Settings(_env_file=None, **settings))
    with TestClient(app) as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and app.state.hayhooks.startup_report is None:
            time.sleep(0.02)
        yield client
