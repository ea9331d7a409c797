"""MCP on the main server (HAYHOOKS_SERVE_MCP=true) and behaviour without the optional ``mcp`` package."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import anyio
import httpx
from conftest import COMPONENTS_PATH, HAYHOOKS, base_env, write_wrapper
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_support import UPPER, json_of, text_of, tool_map, wrapper_files


def _without_mcp(tmp_path: Path) -> dict[str, str]:
    """Environment in which ``import mcp`` fails, as when the extra is not installed."""
    fake = tmp_path / "no_mcp"
    (fake / "mcp").mkdir(parents=True)
    (fake / "mcp" / "__init__.py").write_text('raise ModuleNotFoundError("No module named \'mcp\'", name="mcp")\n')
    return {"PYTHONPATH": os.pathsep.join([str(fake), COMPONENTS_PATH])}


async def test_main_server_serves_mcp_on_its_own_port_with_one_registry(start_server, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "upper", UPPER)
    server = start_server(pipelines, env={"HAYHOOKS_SERVE_MCP": "true"})

    async with Client(f"{server.url}/mcp") as client, client.listen(tools_list_changed=True) as changes:
        assert "upper" in tool_map(await client.list_tools())
        assert text_of(await client.call_tool("upper", {"text": "mcp"})) == "MCP"

        # Deployed over REST -> a tool at once, and listening MCP clients are told.
        with server.client() as http:
            response = http.post(
                "/deploy_files",
                json={
                    "name": "via_rest",
                    "files": {"pipeline_wrapper.py": textwrap.dedent(UPPER)},
                    "save_files": False,
                },
            )
            assert response.status_code == 200, response.text
        with anyio.fail_after(30):
            await changes.__anext__()
        assert text_of(await client.call_tool("via_rest", {"text": "rest"})) == "REST"

        # Deployed over MCP -> a REST endpoint at once.
        deployed = await client.call_tool(
            "deploy_pipeline", {"name": "via_mcp", "files": wrapper_files(UPPER), "save_files": False}
        )
        assert json_of(deployed)["endpoint"] == "/via_mcp/run"
        with server.client() as http:
            assert http.post("/via_mcp/run", json={"text": "both"}).json() == {"result": "BOTH"}
            assert {"upper", "via_rest", "via_mcp"} <= set(http.get("/status").json()["pipelines"])

    async with Client(sse_client(f"{server.url}/sse"), mode="legacy") as sse:
        assert {"upper", "via_rest", "via_mcp"} <= set(tool_map(await sse.list_tools()))
        assert text_of(await sse.call_tool("via_mcp", {"text": "sse"})) == "SSE"


async def test_api_keys_guard_mcp_and_deploying_needs_an_admin_key(start_server, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "upper", UPPER)
    env = {
        "HAYHOOKS_SERVE_MCP": "true",
        "HAYHOOKS_API_KEYS": '["invoke-key"]',
        "HAYHOOKS_ADMIN_API_KEYS": '["admin-key"]',
    }
    server = start_server(pipelines, env=env)
    anonymous = httpx.post(f"{server.url}/mcp", json={}, headers={"Accept": "application/json"}, timeout=10)
    assert anonymous.status_code == 401

    deploy_args = {"name": "keyed", "files": wrapper_files(UPPER), "save_files": False}
    async with create_mcp_http_client(headers={"Authorization": "Bearer invoke-key"}) as http:
        async with Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client:
            assert text_of(await client.call_tool("upper", {"text": "invoke"})) == "INVOKE"
            refused = await client.call_tool("deploy_pipeline", deploy_args)
            assert refused.is_error and "admin API key" in text_of(refused)
            refused = await client.call_tool("undeploy_pipeline", {"pipeline_name": "upper"})
            assert refused.is_error and "admin API key" in text_of(refused)

    async with create_mcp_http_client(headers={"X-API-Key": "admin-key"}) as http:
        async with Client(streamable_http_client(f"{server.url}/mcp", http_client=http), mode="legacy") as client:
            assert json_of(await client.call_tool("deploy_pipeline", deploy_args))["name"] == "keyed"
            assert text_of(await client.call_tool("keyed", {"text": "admin"})) == "ADMIN"


def test_mcp_run_without_the_mcp_package_explains_how_to_install(tmp_path: Path) -> None:
    result = subprocess.run(
        [*HAYHOOKS, "mcp", "run", "--pipelines-dir", str(tmp_path / "pipelines")],
        env=base_env(**_without_mcp(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert 'pip install "hayhooks[mcp]"' in result.stderr


def test_main_server_runs_without_the_mcp_package_when_mcp_is_off(start_server, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "upper", UPPER)
    server = start_server(pipelines, env=_without_mcp(tmp_path))
    with server.client() as http:
        assert http.post("/upper/run", json={"text": "rest"}).json() == {"result": "REST"}
        assert http.post("/mcp", json={}).status_code == 404


def test_serve_mcp_without_the_mcp_package_fails_with_a_clear_message(start_server, tmp_path: Path) -> None:
    server = start_server(env={"HAYHOOKS_SERVE_MCP": "true", **_without_mcp(tmp_path)}, wait=False)
    server.proc.wait(timeout=60)
    assert server.proc.returncode != 0
    assert "HAYHOOKS_SERVE_MCP=true" in server.log()
    assert 'pip install "hayhooks[mcp]"' in server.log()
