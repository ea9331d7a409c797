"""HAYHOOKS_RUNTIME_DEPLOY=false: the pipelines dir is the only way to change what is served (HTTP and MCP)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import write_wrapper
from hardening_support import UPPER, YAML_UPPER
from mcp import Client


def assert_points_to_pipelines_dir(detail: str) -> None:
    assert "HAYHOOKS_RUNTIME_DEPLOY" in detail and "HAYHOOKS_PIPELINES_DIR" in detail, detail


async def test_deploy_and_undeploy_are_refused_over_http_and_mcp(start_server, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "upper", UPPER)
    server = start_server(pipelines, env={"HAYHOOKS_RUNTIME_DEPLOY": "false", "HAYHOOKS_SERVE_MCP": "true"})
    with server.client() as client:
        attempts = [
            client.post(
                "/deploy_files", json={"name": "new", "files": {"pipeline_wrapper.py": textwrap.dedent(UPPER)}}
            ),
            client.post("/deploy-yaml", json={"name": "new", "source_code": textwrap.dedent(YAML_UPPER)}),
            client.post("/deploy", json={"name": "new", "source_code": textwrap.dedent(YAML_UPPER)}),
            client.post("/undeploy/upper"),
        ]
        for response in attempts:
            assert response.status_code == 403, response.text
            assert_points_to_pipelines_dir(response.json()["detail"])

    async with Client(f"{server.url}/mcp") as mcp:
        files = [{"name": "pipeline_wrapper.py", "content": textwrap.dedent(UPPER)}]
        deployed = await mcp.call_tool("deploy_pipeline", {"name": "new", "files": files, "save_files": False})
        assert deployed.is_error
        assert_points_to_pipelines_dir(deployed.content[0].text)
        undeployed = await mcp.call_tool("undeploy_pipeline", {"pipeline_name": "upper"})
        assert undeployed.is_error
        assert_points_to_pipelines_dir(undeployed.content[0].text)

    with server.client() as client:
        assert client.get("/status").json()["pipelines"] == ["upper"]
        assert client.post("/upper/run", json={"text": "still served"}).json() == {"result": "STILL SERVED"}
    assert not (pipelines / "new").exists()
