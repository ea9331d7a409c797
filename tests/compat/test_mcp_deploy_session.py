"""A pipeline deployed through the ``deploy_pipeline`` MCP tool is callable in the same session, at once."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from cliroutes_support import ECHO_WRAPPER, free_port, start_command
from conftest import write_wrapper
from mcp import Client

SHOUT = '''
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, text: str) -> str:
        """Shout a text."""
        return text.upper() + "!"
'''


def _files() -> list[dict[str, str]]:
    return [{"name": "pipeline_wrapper.py", "content": textwrap.dedent(SHOUT)}]


@pytest.mark.parametrize("mode", ["legacy", None])
async def test_deployed_tool_is_callable_in_the_same_session(tmp_path: Path, mode: str | None) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "echo", ECHO_WRAPPER)
    port = free_port()
    argv = ["mcp", "run", "-h", "127.0.0.1", "-p", str(port), "-d", str(pipelines)]
    server = start_command(argv, tmp_path, port=port, ready_path="/status")
    try:
        async with Client(f"{server.url}/mcp", **({"mode": mode} if mode else {})) as client:
            for name, save in (("shout_saved", True), ("shout_memory", False)):
                deployed = await client.call_tool(
                    "deploy_pipeline", {"name": name, "files": _files(), "save_files": save}
                )
                assert not deployed.is_error, deployed
                # no tools/list in between: the call goes straight to the new tool
                called = await client.call_tool(name, {"text": "hey"})
                assert not called.is_error and called.content[0].text == "HEY!"
    finally:
        server.stop()


async def test_deployed_tool_is_callable_at_once_with_several_workers(tmp_path: Path) -> None:
    """Stateless MCP over two workers: every call may reach either worker; each one serves the new tool."""
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "echo", ECHO_WRAPPER)
    port = free_port()
    argv = ["run", "-h", "127.0.0.1", "-p", str(port), "-d", str(pipelines), "-w", "2"]
    server = start_command(argv, tmp_path, port=port, env={"HAYHOOKS_SERVE_MCP": "true"})
    try:
        async with Client(f"{server.url}/mcp", mode="legacy") as client:
            deployed = await client.call_tool("deploy_pipeline", {"name": "shout", "files": _files()})
            assert not deployed.is_error, deployed
            for _ in range(6):
                called = await client.call_tool("shout", {"text": "hey"})
                assert not called.is_error and called.content[0].text == "HEY!"
            # A pipeline kept in one worker's memory would be unknown to the other: refused, with the reason.
            refused = await client.call_tool(
                "deploy_pipeline", {"name": "shout_memory", "files": _files(), "save_files": False}
            )
            assert refused.is_error and "save_files=true" in refused.content[0].text
    finally:
        server.stop()
