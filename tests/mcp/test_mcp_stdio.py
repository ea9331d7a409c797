"""``hayhooks mcp run --transport stdio``, launched by the official client as a subprocess."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from conftest import base_env, write_wrapper
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_support import BROKEN, NOISY, UPPER, ListChangedRecorder, json_of, text_of, tool_map, wrapper_files


def _pipelines(tmp_path: Path) -> Path:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "upper", UPPER)
    write_wrapper(pipelines, "noisy", NOISY)
    write_wrapper(pipelines, "broken", BROKEN)
    return pipelines


@asynccontextmanager
async def stdio_mcp(
    tmp_path: Path, *, env: dict[str, str] | None = None, mode: str = "auto", message_handler=None
) -> AsyncIterator[Client]:
    """A client connected to a fresh ``hayhooks mcp run --transport stdio``; its stderr goes to stderr.log."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "hayhooks", "mcp", "run", "--transport", "stdio", "--pipelines-dir", str(_pipelines(tmp_path))],
        env=base_env(**(env or {})),
        cwd=str(tmp_path),
    )
    with open(tmp_path / "stderr.log", "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode=mode, message_handler=message_handler) as client:
            with anyio.fail_after(60):
                yield client


async def test_stdio_tools_calls_deploy_and_clean_stdout(tmp_path: Path) -> None:
    async with stdio_mcp(tmp_path) as client, client.listen(tools_list_changed=True) as changes:
        tools = tool_map(await client.list_tools())
        assert {"upper", "noisy", "deploy_pipeline"} <= set(tools)
        assert tools["upper"].input_schema["required"] == ["text"]
        assert text_of(await client.call_tool("upper", {"text": "stdio"})) == "STDIO"
        assert text_of(await client.call_tool("noisy", {"text": "still parsable"})) == "still parsable"
        statuses = json_of(await client.call_tool("get_all_pipeline_statuses"))
        assert set(statuses["pipelines"]) == {"upper", "noisy", "broken"}

        result = await client.call_tool("deploy_pipeline", {"name": "fresh", "files": wrapper_files(UPPER)})
        assert not result.is_error, text_of(result)
        await changes.__anext__()
        assert "fresh" in tool_map(await client.list_tools())
        assert text_of(await client.call_tool("fresh", {"text": "new"})) == "NEW"

    # save_files defaults to true: the pipeline is in the pipelines dir for the next start.
    assert (tmp_path / "pipelines" / "fresh" / "pipeline_wrapper.py").exists()
    stderr = (tmp_path / "stderr.log").read_text()
    assert "run_api printed this to stdout" in stderr  # diverted to stderr, not into the protocol stream
    assert "Deployed 3 pipeline(s)" in stderr  # logs go to stderr


async def test_stdio_handshake_client_runtime_deploy_disabled_and_tracebacks_on(tmp_path: Path) -> None:
    changes = ListChangedRecorder()
    env = {"HAYHOOKS_RUNTIME_DEPLOY": "false", "HAYHOOKS_SHOW_TRACEBACKS": "true"}
    async with stdio_mcp(tmp_path, env=env, mode="legacy", message_handler=changes) as client:
        assert client.session.initialize_result.capabilities.tools.list_changed is True
        deploy = await client.call_tool("deploy_pipeline", {"name": "fresh", "files": wrapper_files(UPPER)})
        undeploy = await client.call_tool("undeploy_pipeline", {"pipeline_name": "upper"})
        upper = await client.call_tool("upper", {"text": "still here"})
        broken = await client.call_tool("broken", {"text": "x"})

    for result in (deploy, undeploy):
        assert result.is_error
        assert "HAYHOOKS_PIPELINES_DIR" in text_of(result)
    assert text_of(upper) == "STILL HERE"
    assert changes.count == 0
    assert broken.is_error
    assert "boom: the pipeline exploded" in text_of(broken) and "Traceback" in text_of(broken)
