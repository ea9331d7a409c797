"""Pipeline names that collide with the server's own routes are refused on every deploy path.

``RESERVED_NAMES`` is checked against the routes of a real app with every feature on, so a route added later
without reserving its first path segment fails here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from conftest import HAYHOOKS, ServerProcess, base_env, launch_server, write_wrapper, write_yaml
from mcp import Client

from hayhooks.deploy.files import RESERVED_NAMES

WRAPPER = """
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.prefix = "ok:"

    def run_api(self, text: str) -> str:
        return self.prefix + text
"""

YAML = """
components:
  joiner:
    type: haystack.components.joiners.string_joiner.StringJoiner
connections: []
inputs:
  strings: joiner.strings
outputs:
  strings: joiner.strings
"""


def _paths(routes: Iterable[object], prefix: str = "") -> Iterator[str]:
    """Every path the app answers, through included routers (FastAPI keeps them nested in newer versions)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _paths(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif getattr(route, "path", None) is not None:
            yield prefix + route.path  # type: ignore[attr-defined]


def test_reserved_names_are_exactly_the_first_segments_of_the_server_routes(tmp_path: Path) -> None:
    from hayhooks.server.app import create_app
    from hayhooks.settings import Settings

    app = create_app(Settings(_env_file=None, serve_mcp=True, pipelines_dir=str(tmp_path), api_keys=["k"]))
    paths = set(_paths(app.routes))
    segments = {path.split("/")[1] for path in paths} - {"{name}"}
    assert "/{name}/run" in paths
    assert segments == RESERVED_NAMES


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("reserved")
    pipelines = root / "pipelines"
    write_wrapper(pipelines, "fine", WRAPPER)
    write_wrapper(pipelines, "docs", WRAPPER)  # an operator's folder named like a route: skipped at startup
    write_yaml(pipelines, "status", YAML)
    running = launch_server(pipelines, root, env={"HAYHOOKS_SERVE_MCP": "true"})
    yield running
    running.stop()


def _says_reserved(text: str, name: str) -> None:
    assert f"'{name}'" in text and "reserved" in text, text
    assert all(word in text for word in ("status", "docs", "v1", "health", "metrics", "deploy_files")), text


@pytest.mark.parametrize("name", ["status", "docs", "v1", "health", "metrics", "deploy_files", "openapi.json", "mcp"])
def test_http_deploy_refuses_a_reserved_name_with_422(server: ServerProcess, name: str) -> None:
    with server.client() as client:
        response = client.post("/deploy_files", json={"name": name, "files": {"pipeline_wrapper.py": WRAPPER}})
        assert response.status_code == 422, response.text
        _says_reserved(response.json()["detail"], name)
        assert name not in client.get("/status").json()["pipelines"]


def test_yaml_and_legacy_deploy_refuse_reserved_names(server: ServerProcess) -> None:
    with server.client() as client:
        yaml = client.post("/deploy-yaml", json={"name": "v1", "source_code": YAML, "save_file": False})
        legacy = client.post("/deploy", json={"name": "chat", "source_code": YAML})
        assert (yaml.status_code, legacy.status_code) == (422, 422), (yaml.text, legacy.text)
        _says_reserved(yaml.json()["detail"], "v1")
        _says_reserved(legacy.json()["detail"], "chat")
        # A name that only looks alike is fine.
        allowed = client.post("/deploy-yaml", json={"name": "status_board", "source_code": YAML, "save_file": False})
        assert allowed.status_code == 200, allowed.text


def test_startup_skips_a_reserved_name_with_one_log_line(server: ServerProcess) -> None:
    with server.client() as client:
        status = client.get("/status").json()
        assert "fine" in status["pipelines"]
        assert not {"docs", "status"} & set(status["pipelines"])
        assert client.post("/fine/run", json={"text": "x"}).json() == {"result": "ok:x"}
        assert client.get("/docs").status_code == 200 and "swagger" in client.get("/docs").text.lower()
    log = server.log()
    for name in ("docs", "status"):
        lines = [line for line in log.splitlines() if f"'{name}'" in line and "reserved" in line]
        assert len(lines) == 1, log
        _says_reserved(lines[0], name)
    assert "Traceback" not in log


def test_cli_deploy_refuses_a_reserved_name(server: ServerProcess, tmp_path: Path) -> None:
    folder = write_wrapper(tmp_path, "anything", WRAPPER)
    env = base_env(HAYHOOKS_HOST="127.0.0.1", HAYHOOKS_PORT=str(server.port))
    command = [*HAYHOOKS, "pipeline", "deploy-files", str(folder), "--name", "metrics"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    _says_reserved(line, "metrics")


async def test_mcp_deploy_tool_refuses_a_reserved_name(server: ServerProcess) -> None:
    async with Client(f"{server.url}/mcp") as client:
        files = [{"name": "pipeline_wrapper.py", "content": WRAPPER}]
        result = await client.call_tool("deploy_pipeline", {"name": "health", "files": files, "save_files": False})
        assert result.is_error
        _says_reserved(result.content[0].text, "health")  # type: ignore[union-attr]
