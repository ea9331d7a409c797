"""``run_agent`` with a Haystack Agent streaming through ``durable_streaming_callback``; sync ``suspend`` and
``retry``; ``current_durable_context`` inside a component."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import write_wrapper
from durable_support import sse_events, wait_status

AGENT_WRAPPER = """
from haystack.components.agents import Agent
from haystack.dataclasses import ChatMessage
from pydantic import BaseModel
from test_components import FakeChatGenerator

from hayhooks import BasePipelineWrapper, DurableContext, durable_streaming_callback


class Ask(BaseModel):
    question: str


class Reply(BaseModel):
    text: str


class PipelineWrapper(BasePipelineWrapper):
    durable_revision = "agent-1"

    def setup(self) -> None:
        self.pipeline = Agent(chat_generator=FakeChatGenerator())

    async def run_durable_async(self, context: DurableContext, request: Ask) -> Reply:
        result = await context.run_agent_async(
            messages=[ChatMessage.from_user(request.question)], streaming_callback=durable_streaming_callback
        )
        return Reply(text=result["last_message"].text)
"""

SYNC_FLOW = """
from pydantic import BaseModel

from hayhooks import BasePipelineWrapper, DurableContext


class Req(BaseModel):
    flaky: bool = False


class PipelineWrapper(BasePipelineWrapper):
    durable_revision = "sync-flow-1"

    def setup(self) -> None:
        self.pipeline = None

    def run_durable(self, context: DurableContext, request: Req) -> dict:
        if request.flaky and context.attempt == 1:
            context.retry_sync("first attempt is flaky", delay=0)
        if context.resume_input is None:
            context.suspend_sync({"kind": "confirm"}, update={"asked": True})
        return {"answer": context.take_resume_input(), "asked": context.state["asked"], "attempt": context.attempt}
"""


def test_run_agent_streams_through_durable_streaming_callback(app_client, tmp_path: Path):
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "agent", AGENT_WRAPPER)
    with app_client(pipelines, durable_store="memory", durable_poll_interval_seconds=0.05) as client:
        location = client.post("/agent/run-durable", json={"question": "durable agents"}).headers["location"]
        done = wait_status(client, location, {"completed"})
        assert done["result"] == {"text": "You said: durable agents"}
        events = sse_events(client.get(location + "/stream").text)
        contents = [json.loads(e["data"])["payload"]["content"] for e in events if e.get("event") == "chunk"]
        assert "".join(contents).strip() == "You said: durable agents"


def test_sync_retry_and_suspend(app_client, tmp_path: Path):
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "flow", SYNC_FLOW)
    with app_client(pipelines, durable_store="sqlite", durable_poll_interval_seconds=0.05) as client:
        location = client.post("/flow/run-durable", json={"flaky": True}).headers["location"]
        waiting = wait_status(client, location, {"waiting"})
        assert waiting["waiting"] == {"kind": "confirm"} and waiting["attempt"] == 2
        assert client.post(location + "/resume", json={"ok": 1}).status_code == 202  # no resume model: any JSON
        done = wait_status(client, location, {"completed"})
        assert done["result"] == {"answer": {"ok": 1}, "asked": True, "attempt": 3}
