"""The MCP app served in-process by uvicorn, to look at server-side session bookkeeping."""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio
import pytest
import uvicorn
from conftest import COMPONENTS_PATH, free_port
from mcp import Client
from mcp.client.sse import sse_client
from mcp_support import UPPER, ListChangedRecorder, make_pipelines_dir, wrapper_files

from hayhooks.server.mcp.app import create_mcp_app
from hayhooks.settings import Settings


async def test_handshake_sessions_are_forgotten_when_clients_leave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAYSTACK_DESERIALIZATION_ALLOWLIST", "test_components")
    monkeypatch.syspath_prepend(COMPONENTS_PATH)
    port = free_port()
    settings = Settings(_env_file=None, pipelines_dir=str(make_pipelines_dir(tmp_path)), mcp_host="127.0.0.1")
    app = create_mcp_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    serving = asyncio.create_task(server.serve())
    try:
        with anyio.fail_after(60):
            while not server.started:
                await asyncio.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        notifier = app.state.mcp_service.notifier
        changes = ListChangedRecorder()
        async with (
            Client(f"{url}/mcp", mode="legacy", message_handler=changes) as http_client,
            Client(sse_client(f"{url}/sse"), mode="legacy") as sse,
        ):
            await http_client.list_tools()
            await sse.list_tools()
            assert notifier.tracked_sessions == 2
            deployed = await http_client.call_tool(
                "deploy_pipeline", {"name": "fresh", "files": wrapper_files(UPPER), "save_files": False}
            )
            assert not deployed.is_error
            await changes.wait()
        with anyio.fail_after(30):
            while notifier.tracked_sessions:
                await asyncio.sleep(0.05)
    finally:
        server.should_exit = True
        with anyio.fail_after(30):
            await serving
