"""API keys: 401/403 on every protected route kind (REST, management, OpenAI, MCP), open health routes."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import openai
import pytest
from conftest import write_wrapper
from hardening_support import (
    ADMIN_KEY,
    FILE_ADMIN_KEY,
    FILE_INVOKE_KEY,
    INVOKE_KEY,
    UPPER,
    YAML_UPPER,
    bearer,
    launch,
)
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

# (method, path, body) of each protected route kind; the body is valid so an authorized call gets past auth.
INVOKE_ROUTES = [
    ("POST", "/upper/run", {"text": "hi"}),
    ("POST", "/no_such_pipeline/run", {"text": "hi"}),
    ("GET", "/v1/models", None),
    ("GET", "/models", None),
    ("POST", "/v1/chat/completions", {"model": "upper", "messages": [{"role": "user", "content": "hi"}]}),
    ("POST", "/chat/completions", {"model": "upper", "messages": [{"role": "user", "content": "hi"}]}),
    ("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "ping"}),
    ("GET", "/sse", None),
]
ADMIN_ROUTES = [
    ("POST", "/deploy_files", {"name": "x", "files": {}}),
    ("POST", "/deploy-yaml", {"name": "x", "source_code": "x"}),
    ("POST", "/deploy", {"name": "x", "source_code": "x"}),
    ("POST", "/undeploy/nothing_here", None),
]
OPEN_ROUTES = ["/health/live", "/health/ready", "/status", "/status/upper", "/metrics", "/openapi.json", "/docs"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    root = tmp_path_factory.mktemp("auth")
    pipelines = root / "pipelines"
    write_wrapper(pipelines, "upper", UPPER)
    (root / "invoke.keys").write_text(f"# invoke keys\n\n{FILE_INVOKE_KEY}\n")
    (root / "admin.keys").write_text(f"{FILE_ADMIN_KEY}\n# rotated out: nothing\n")
    env = {
        "HAYHOOKS_API_KEYS": json.dumps([INVOKE_KEY]),
        "HAYHOOKS_ADMIN_API_KEYS": json.dumps([ADMIN_KEY]),
        "HAYHOOKS_API_KEYS_FILE": str(root / "invoke.keys"),
        "HAYHOOKS_ADMIN_API_KEYS_FILE": str(root / "admin.keys"),
        "HAYHOOKS_SERVE_MCP": "true",
        "HAYHOOKS_LOG_LEVEL": "DEBUG",
    }
    started = launch(pipelines, root, env=env)
    yield started
    started.stop()


def call(server, method: str, path: str, body, headers: dict[str, str] | None = None) -> httpx.Response:
    headers = {"Accept": "application/json, text/event-stream", **(headers or {})}
    with server.client(timeout=10) as client:
        if method == "GET" and path == "/sse":
            with client.stream("GET", path, headers=headers) as response:
                if response.status_code != 200:  # 200 is an endless event stream: do not read it
                    response.read()
                return response
        return client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body"), INVOKE_ROUTES + ADMIN_ROUTES)
def test_missing_or_wrong_key_is_401_with_a_challenge(server, method: str, path: str, body) -> None:
    for headers in ({}, bearer("wrong-key"), {"X-API-Key": "wrong-key"}, {"Authorization": f"Basic {INVOKE_KEY}"}):
        response = call(server, method, path, body, headers)
        assert response.status_code == 401, (path, headers, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "wrong-key" not in response.text


@pytest.mark.parametrize(("method", "path", "body"), INVOKE_ROUTES)
def test_invoke_keys_reach_invoke_routes(server, method: str, path: str, body) -> None:
    for headers in (bearer(INVOKE_KEY), {"X-API-Key": FILE_INVOKE_KEY}, bearer(ADMIN_KEY)):
        response = call(server, method, path, body, headers)
        assert response.status_code not in (401, 403), (path, headers, response.text)


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_invoke_key_on_admin_route_is_403(server, method: str, path: str, body) -> None:
    for headers in (bearer(INVOKE_KEY), {"X-API-Key": FILE_INVOKE_KEY}):
        response = call(server, method, path, body, headers)
        assert response.status_code == 403, response.text
        assert "admin" in response.json()["detail"]


@pytest.mark.parametrize("path", OPEN_ROUTES)
def test_health_status_metrics_and_docs_stay_open(server, path: str) -> None:
    with server.client() as client:
        assert client.get(path).status_code == 200


def test_admin_keys_deploy_run_and_undeploy(server) -> None:
    with server.client() as client:
        for key, name in ((ADMIN_KEY, "yaml_by_env_key"), (FILE_ADMIN_KEY, "yaml_by_file_key")):
            body = {"name": name, "source_code": textwrap.dedent(YAML_UPPER), "save_file": False}
            response = client.post("/deploy-yaml", json=body, headers={"X-API-Key": key})
            assert response.status_code == 200, response.text
            ran = client.post(f"/{name}/run", json={"text": "ok"}, headers=bearer(INVOKE_KEY))
            assert ran.status_code == 200 and "OK" in ran.text, ran.text
            assert client.post(f"/undeploy/{name}", headers=bearer(key)).status_code == 200


def test_openai_sdk_needs_a_valid_key(server) -> None:
    good = openai.OpenAI(base_url=f"{server.url}/v1", api_key=INVOKE_KEY, max_retries=0)
    assert "upper" in {model.id for model in good.models.list()}
    reply = good.chat.completions.create(model="upper", messages=[{"role": "user", "content": "sdk"}])
    assert reply.choices[0].message.content == "SDK"

    bad = openai.OpenAI(base_url=f"{server.url}/v1", api_key="not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="upper", messages=[{"role": "user", "content": "sdk"}])


async def test_mcp_client_needs_a_valid_key(server) -> None:
    async with httpx2.AsyncClient(headers=bearer(INVOKE_KEY), timeout=30) as http:
        async with Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            assert "upper" in tools
            result = await client.call_tool("upper", {"text": "mcp"})
            assert result.content[0].text == "MCP"
            files = [{"name": "pipeline_wrapper.py", "content": textwrap.dedent(UPPER)}]
            refused = await client.call_tool("deploy_pipeline", {"name": "by_mcp", "files": files, "save_files": False})
            assert refused.is_error  # deploy/undeploy tools need the admin role over MCP too
    async with httpx2.AsyncClient(headers=bearer(ADMIN_KEY), timeout=30) as http:
        async with Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client:
            files = [{"name": "pipeline_wrapper.py", "content": textwrap.dedent(UPPER)}]
            deployed = await client.call_tool(
                "deploy_pipeline", {"name": "by_mcp", "files": files, "save_files": False}
            )
            assert not deployed.is_error, deployed.content
            assert not (await client.call_tool("undeploy_pipeline", {"pipeline_name": "by_mcp"})).is_error
    async with httpx2.AsyncClient(headers=bearer("not-a-key"), timeout=30) as http:
        with pytest.raises(Exception):  # noqa: B017 - the SDK wraps the 401 in its own error types
            async with Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client:
                await client.list_tools()


def test_no_key_appears_in_the_debug_log(server) -> None:
    log = server.log()
    assert "DEBUG" in log and "Denied" in log
    for key in (INVOKE_KEY, ADMIN_KEY, FILE_INVOKE_KEY, FILE_ADMIN_KEY, "wrong-key", "not-a-key"):
        assert key not in log


def test_a_missing_key_file_stops_the_server(start_server, tmp_path: Path) -> None:
    server = start_server(tmp_path / "p", env={"HAYHOOKS_API_KEYS_FILE": str(tmp_path / "absent.keys")}, wait=False)
    assert server.proc.wait(60) != 0
    assert "HAYHOOKS_API_KEYS_FILE" in server.log()


def test_open_server_on_a_public_address_warns_once_at_startup(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from hayhooks.server.app import create_app
    from hayhooks.settings import Settings

    def warnings_for(**settings) -> list[str]:
        capsys.readouterr()
        create_app(Settings(_env_file=None, pipelines_dir=str(tmp_path / "p"), watch_pipelines_dir=False, **settings))
        return [line for line in capsys.readouterr().err.splitlines() if "No API keys configured" in line]

    assert len(warnings_for(host="0.0.0.0")) == 1
    assert warnings_for(host="127.0.0.1") == []
    assert warnings_for(host="0.0.0.0", api_keys=[INVOKE_KEY]) == []
