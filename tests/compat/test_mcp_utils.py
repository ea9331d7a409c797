"""``hayhooks.server.utils.mcp_utils``: the MCP helpers 2.1.0 users build their own MCP servers with."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from compat_support import LEGACY_PATHS_WRAPPER
from conftest import ServerProcess, base_env, free_port, write_wrapper
from fastapi.testclient import TestClient

pytest.importorskip("mcp")

from mcp import Client  # noqa: E402

CORE = {"get_all_pipeline_statuses", "get_pipeline_status", "undeploy_pipeline", "deploy_pipeline"}


def test_list_and_run_pipelines_as_tools(tmp_path: Path) -> None:
    from hayhooks.server.pipelines.registry import registry
    from hayhooks.server.utils.mcp_utils import (
        CoreTools,
        list_core_tools,
        list_pipelines_as_tools,
        run_pipeline_as_tool,
    )

    from hayhooks.server.app import create_app
    from hayhooks.settings import Settings

    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "greeter", LEGACY_PATHS_WRAPPER)
    app = create_app(Settings(_env_file=None, pipelines_dir=str(pipelines), watch_pipelines_dir=False))
    assert TestClient(app).get("/status").json()["pipelines"] == ["greeter"]

    own_registry = app.state.hayhooks.registry
    for source in (own_registry, registry):
        tools = {tool.name: tool for tool in list_pipelines_as_tools(source)}
        assert "greeter" in tools and tools["greeter"].input_schema["required"] == ["word"]
    assert {tool.name for tool in list_core_tools()} == CORE == {member.value for member in CoreTools}

    import anyio

    content = anyio.run(run_pipeline_as_tool, own_registry, "greeter", {"word": "Mo"})
    assert [block.text for block in content] == ["Hello, Mo!"]
    with pytest.raises(ValueError, match="nope"):
        anyio.run(run_pipeline_as_tool, own_registry, "nope", {})


async def test_create_starlette_app_serves_the_pipelines_dir(tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "greeter", LEGACY_PATHS_WRAPPER)
    (tmp_path / "my_mcp.py").write_text(
        textwrap.dedent(
            """
            from hayhooks.server.utils.mcp_utils import create_mcp_server, create_starlette_app

            app = create_starlette_app(create_mcp_server(), debug=True, json_response=True)
            """
        )
    )
    port = free_port()
    log_path = tmp_path / "mcp.log"
    command = [sys.executable, "-m", "uvicorn", "my_mcp:app", "--host", "127.0.0.1", "--port", str(port)]
    import subprocess

    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            command,
            env=base_env(HAYHOOKS_PIPELINES_DIR=str(pipelines), PYTHONPATH=str(tmp_path)),
            cwd=tmp_path,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServerProcess(proc, port, log_path)
    try:
        server.wait_ready(path="/status")
        async with Client(f"{server.url}/mcp") as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert names == CORE | {"greeter"}
            result = await client.call_tool("greeter", {"word": "Nia"})
        assert [block.text for block in result.content] == ["Hello, Nia!"]
    finally:
        server.stop()
