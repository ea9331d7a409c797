"""Pipelines and helpers shared by the OpenAI-compatible API tests (real servers, official ``openai`` client)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from conftest import ServerProcess, launch_server, write_wrapper, write_yaml

HEADER = """\
from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, Generator

from haystack import Pipeline
from haystack.components.builders import ChatPromptBuilder
from haystack.dataclasses import ChatMessage
from test_components import FakeChatGenerator, RUNNING_GENERATORS, Upper, WordStreamer

from hayhooks import (
    BasePipelineWrapper,
    async_streaming_generator,
    chat_messages_from_openai_response,
    get_last_user_input_text,
    get_last_user_message,
    streaming_generator,
)


def chat_pipeline(**generator_options) -> Pipeline:
    pipeline = Pipeline()
    template = [ChatMessage.from_user("{{q}}")]
    pipeline.add_component("prompt", ChatPromptBuilder(template=template, required_variables=["q"]))
    pipeline.add_component("llm", FakeChatGenerator(**generator_options))
    pipeline.connect("prompt.prompt", "llm.messages")
    return pipeline
"""

# Returns plain strings; echoes what it received so tests can check model, messages and body reach it.
ECHO = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> str:
        return f"echo: {get_last_user_message(messages)} | model={model} | temperature={body.get('temperature')}"

    def run_response(self, model: str, input_items: list[dict], body: dict) -> str:
        return f"echo: {get_last_user_input_text(input_items)} | instructions={body.get('instructions')}"
"""

# Sync wrapper streaming a real pipeline through streaming_generator (a thread + queue).
GEN_SYNC = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = chat_pipeline()

    def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> Generator:
        return streaming_generator(self.pipeline, pipeline_run_args={"prompt": {"q": get_last_user_message(messages)}})

    def run_response(self, model: str, input_items: list[dict], body: dict) -> Generator:
        question = get_last_user_input_text(input_items)
        return streaming_generator(self.pipeline, pipeline_run_args={"prompt": {"q": question}})
"""

# Async wrapper streaming through async_streaming_generator (a task on the server's loop).
GEN_ASYNC = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = chat_pipeline()

    async def run_chat_completion_async(self, model: str, messages: list[dict], body: dict) -> AsyncGenerator:
        question = get_last_user_message(messages)
        return async_streaming_generator(self.pipeline, pipeline_run_args={"prompt": {"q": question}})

    async def run_response_async(self, model: str, input_items: list[dict], body: dict) -> AsyncGenerator:
        messages = chat_messages_from_openai_response(input_items)
        return async_streaming_generator(self.pipeline, pipeline_run_args={"prompt": {"q": messages[-1].text}})
"""

BOTH = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> str:
        return "sync"

    async def run_chat_completion_async(self, model: str, messages: list[dict], body: dict) -> str:
        return "async"
"""

# A chat generator asking for a tool call: the call reaches the client as OpenAI tool-call deltas.
TOOLS = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = chat_pipeline(tool_name="get_weather", tool_arguments={"city": "Rome", "unit": "celsius"})

    def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> Generator:
        return streaming_generator(self.pipeline, pipeline_run_args={"prompt": {"q": get_last_user_message(messages)}})

    async def run_response_async(self, model: str, input_items: list[dict], body: dict) -> AsyncGenerator:
        question = get_last_user_input_text(input_items)
        return async_streaming_generator(self.pipeline, pipeline_run_args={"prompt": {"q": question}})
"""

# An Agent that calls a tool server-side; Open WebUI events come from the default callbacks.
AGENT = """
from haystack.components.agents import Agent
from haystack.tools import Tool

from hayhooks import default_on_tool_call_end, default_on_tool_call_start


def weather(city: str) -> str:
    return f"sunny in {city}"


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        tool = Tool(name="get_weather", description="Weather of a city",
                    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                    function=weather)
        generator = FakeChatGenerator(tool_name="get_weather", tool_arguments={"city": "Paris"})
        self.agent = Agent(chat_generator=generator, tools=[tool])

    async def run_chat_completion_async(self, model: str, messages: list[dict], body: dict) -> AsyncGenerator:
        chat = [ChatMessage.from_user(get_last_user_message(messages))]
        return async_streaming_generator(
            self.agent, pipeline_run_args={"messages": chat},
            on_tool_call_start=default_on_tool_call_start, on_tool_call_end=default_on_tool_call_end,
        )
"""

API_ONLY = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, text: str) -> str:
        return text
"""

FAILS_EARLY = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> str:
        raise ValueError("boom before streaming")
"""

FAILS_MIDSTREAM = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> Generator:
        def answer():
            yield "partial "
            raise RuntimeError("boom mid-stream")
        return answer()

    async def run_response_async(self, model: str, input_items: list[dict], body: dict) -> AsyncGenerator:
        async def answer():
            yield "partial "
            raise RuntimeError("boom mid-stream")
        return answer()
"""

# The answer's second chunk waits until the client, having seen the first, opens the gate through run_api:
# it proves chunks reach the client while the wrapper is still producing.
GATE = """
from test_components import gate


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, name: str) -> str:
        gate(name).set()
        return "opened"

    def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> Generator:
        opened = gate(get_last_user_message(messages))
        def answer():
            yield "first "
            yield "released" if opened.wait(60) else "timed out"
        return answer()

    async def run_response_async(self, model: str, input_items: list[dict], body: dict) -> AsyncGenerator:
        import asyncio
        opened = gate(get_last_user_input_text(input_items))
        async def answer():
            yield "first "
            for _ in range(6000):
                if opened.is_set():
                    yield "released"
                    return
                await asyncio.sleep(0.01)
            yield "timed out"
        return answer()
"""

# One run at a time and no queue: a second request while a stream is open is refused (503).
LIMITS = "    max_concurrent_runs = 1\n    max_queued_runs = 0\n\n"
ONE_AT_A_TIME = GATE.replace("    def setup(self) -> None:", LIMITS + "    def setup(self) -> None:")

STATS = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self) -> int:
        return RUNNING_GENERATORS.value
"""

# Endless streams (cancelled by the disconnect tests; they would otherwise run for hours).
ENDLESS_SYNC = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = chat_pipeline(repeat=10_000_000, delay=0.01)

    def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> Generator:
        return streaming_generator(self.pipeline, pipeline_run_args={"prompt": {"q": "endless"}})
"""

ENDLESS_ASYNC = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = chat_pipeline(repeat=10_000_000, delay=0.01)

    async def run_chat_completion_async(self, model: str, messages: list[dict], body: dict) -> AsyncGenerator:
        return async_streaming_generator(self.pipeline, pipeline_run_args={"prompt": {"q": "endless"}})
"""

# Two streaming components: which ones stream comes from the wrapper attribute, else the server setting.
TWO_STREAMERS = """
class PipelineWrapper(BasePipelineWrapper):
    STREAMING

    def setup(self) -> None:
        self.pipeline = Pipeline()
        self.pipeline.add_component("first", WordStreamer(prefix="a:"))
        self.pipeline.add_component("second", WordStreamer(prefix="b:"))
        self.pipeline.connect("first.text", "second.text")

    def run_api(self, text: str) -> Generator:
        return streaming_generator(self.pipeline, pipeline_run_args={"first": {"text": text}})

    async def run_chat_completion_async(self, model: str, messages: list[dict], body: dict) -> AsyncGenerator:
        args = {"first": {"text": get_last_user_message(messages)}}
        return async_streaming_generator(self.pipeline, pipeline_run_args=args)
"""

YAML_PIPELINE = """
components:
  upper:
    type: test_components.Upper
connections: []
inputs:
  text: upper.text
outputs:
  text: upper.text
"""

CHAT_WRAPPERS = {
    "echo": ECHO,
    "gen_sync": GEN_SYNC,
    "gen_async": GEN_ASYNC,
    "both": BOTH,
    "tools": TOOLS,
    "agent": AGENT,
    "api_only": API_ONLY,
    "fails_early": FAILS_EARLY,
    "fails_midstream": FAILS_MIDSTREAM,
    "gate": GATE,
    "one_at_a_time": ONE_AT_A_TIME,
    "streams_default": TWO_STREAMERS.replace("STREAMING", "pass"),
    "streams_first": TWO_STREAMERS.replace("STREAMING", 'streaming_components = ["first"]'),
}


def write_pipelines(pipelines_dir: Path, wrappers: dict[str, str], yaml: dict[str, str] | None = None) -> Path:
    for name, code in wrappers.items():
        write_wrapper(pipelines_dir, name, HEADER + code)
    for name, text in (yaml or {}).items():
        write_yaml(pipelines_dir, name, text)
    return pipelines_dir


@contextlib.contextmanager
def running_server(workdir: Path, pipelines_dir: Path, env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    """A ``hayhooks run`` subprocess for a whole test module; every pipeline must have deployed."""
    server = launch_server(pipelines_dir, workdir, env=env, ready_path=None)
    try:
        server.wait_ready()
        errors = httpx.get(server.url + "/status", timeout=10).json().get("errors")
        assert not errors, errors
        yield server
    finally:
        server.stop()


def sse_data(lines: list[str]) -> list[Any]:
    """The ``data:`` payloads of an SSE body, JSON-decoded (``[DONE]`` kept as the string)."""
    payloads = []
    for line in lines:
        if line.startswith("data: "):
            data = line[len("data: ") :]
            payloads.append(data if data == "[DONE]" else json.loads(data))
    return payloads


def proc_status(pid: int) -> dict[str, int]:
    """Thread count and resident memory (kB) of a process, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Threads", "VmRSS"):
            values[key] = int(value.split()[0])
    return values
