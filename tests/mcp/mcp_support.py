"""Pipelines and helpers shared by the MCP tests (real servers, official ``mcp`` client)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import anyio
from conftest import ServerProcess, launch_server, write_wrapper, write_yaml
from mcp import types

UPPER = '''
from haystack import Pipeline
from test_components import Upper
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = Pipeline()
        self.pipeline.add_component("upper", Upper())

    def run_api(self, text: str, repeat: int = 1) -> str:
        """Uppercase a text with a Haystack pipeline.

        Args:
            text: The text to uppercase.
            repeat: How many times to repeat the result.
        """
        return self.pipeline.run({"upper": {"text": text}})["upper"]["text"] * repeat
'''

SHOPPING = '''
from haystack import Pipeline
from pydantic import BaseModel, Field
from test_components import Upper
from hayhooks import BasePipelineWrapper


class Item(BaseModel):
    name: str = Field(description="What to buy")
    quantity: int = 1


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = Pipeline()
        self.pipeline.add_component("upper", Upper())

    async def run_api_async(self, items: list[Item], note: str | None = None) -> dict:
        """Summarize a shopping list.

        Args:
            items: The items to buy.
            note: A note for the shopper.
        """
        result = await self.pipeline.run_async({"upper": {"text": ", ".join(item.name for item in items)}})
        return {"names": result["upper"]["text"], "total": sum(item.quantity for item in items), "note": note}
'''

BROKEN = '''
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, text: str) -> str:
        """Always fails."""
        raise ValueError("boom: the pipeline exploded")
'''

CHAT_ONLY = """
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_chat_completion(self, model, messages, body):
        return "hi"
"""

HIDDEN = '''
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    skip_mcp = True

    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, text: str) -> str:
        """Not a tool."""
        return text
'''

NOISY = '''
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        print("setup printed this to stdout")
        self.pipeline = None

    def run_api(self, text: str) -> str:
        """Echo a text (and print to stdout)."""
        print("run_api printed this to stdout")
        return text
'''

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
description: Uppercase a text (YAML pipeline).
"""

# What the standard pipelines dir holds, and which of them are tools.
PIPELINE_TOOLS = {"upper", "shopping", "broken", "yaml_upper"}
NOT_TOOLS = {"chat_only", "hidden"}
CORE_TOOLS = {"get_all_pipeline_statuses", "get_pipeline_status", "deploy_pipeline", "undeploy_pipeline"}


def make_pipelines_dir(root: Path) -> Path:
    pipelines = root / "pipelines"
    for name, code in (
        ("upper", UPPER),
        ("shopping", SHOPPING),
        ("broken", BROKEN),
        ("chat_only", CHAT_ONLY),
        ("hidden", HIDDEN),
    ):
        write_wrapper(pipelines, name, code)
    write_yaml(pipelines, "yaml_upper", YAML_UPPER)
    return pipelines


def start_mcp_server(pipelines_dir: Path, log_dir: Path, env: dict[str, str] | None = None) -> ServerProcess:
    """``hayhooks mcp run`` in a subprocess on 127.0.0.1; stop it with ``.stop()``."""
    return launch_server(pipelines_dir, log_dir, verb=("mcp", "run"), env=env, ready_path="/status")


def wrapper_files(code: str) -> list[dict[str, str]]:
    return [{"name": "pipeline_wrapper.py", "content": textwrap.dedent(code)}]


def text_of(result: types.CallToolResult) -> str:
    assert len(result.content) == 1 and isinstance(result.content[0], types.TextContent), result
    return result.content[0].text


def json_of(result: types.CallToolResult) -> Any:
    assert not result.is_error, text_of(result)
    return json.loads(text_of(result))


def tool_map(listing: types.ListToolsResult) -> dict[str, types.Tool]:
    return {tool.name: tool for tool in listing.tools}


class ListChangedRecorder:
    """``message_handler`` for handshake-era clients: counts ``notifications/tools/list_changed``."""

    def __init__(self) -> None:
        self.count = 0
        self._event = anyio.Event()

    async def __call__(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self.count += 1
            self._event.set()

    async def wait(self, timeout: float = 30) -> None:
        with anyio.fail_after(timeout):
            await self._event.wait()
        self._event = anyio.Event()
