"""CORS (issue point 8) and the OpenAPI document / docs page of the run contract."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from conftest import write_wrapper
from fastapi.testclient import TestClient

from hayhooks.server.app import create_app
from hayhooks.settings import Settings

WRAPPER = '''\
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self, query: str, limit: int = 5) -> list[str]:
        """Search things.

        Args:
            query: What to look for.
            limit: How many results.
        """
        return [query] * limit
'''


def preflight(client, origin: str, method: str = "POST", headers: str | None = None):
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        request_headers["Access-Control-Request-Headers"] = headers
    return client.options("/search/run", headers=request_headers)


@pytest.fixture
def pipelines(tmp_path: Path) -> Path:
    write_wrapper(tmp_path / "pipelines", "search", WRAPPER)
    return tmp_path / "pipelines"


def test_default_cors_allows_any_origin(pipelines: Path, app_client) -> None:
    with app_client(pipelines) as client:
        response = preflight(client, "https://anywhere.test", headers="X-Custom")
        simple = client.post(
            "/search/run", json={"query": "q", "limit": 1}, headers={"Origin": "https://anywhere.test"}
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "x-custom" in response.headers["access-control-allow-headers"].lower()
    assert simple.headers["access-control-allow-origin"] == "*"


def test_restricted_cors_honours_origins_methods_headers_and_credentials(pipelines: Path, app_client) -> None:
    settings = {
        "cors_allow_origins": ["https://app.example.com"],
        "cors_allow_methods": ["POST"],
        "cors_allow_headers": ["Content-Type", "Authorization"],
        "cors_allow_credentials": True,
    }
    with app_client(pipelines, **settings) as client:
        allowed = preflight(client, "https://app.example.com", headers="Authorization")
        other_origin = preflight(client, "https://evil.test")
        other_method = preflight(client, "https://app.example.com", method="DELETE")
        other_header = preflight(client, "https://app.example.com", headers="X-Secret")
        simple = client.post(
            "/search/run", json={"query": "q", "limit": 1}, headers={"Origin": "https://app.example.com"}
        )
        simple_other = client.post(
            "/search/run", json={"query": "q", "limit": 1}, headers={"Origin": "https://evil.test"}
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "DELETE" not in allowed.headers["access-control-allow-methods"]
    assert other_origin.status_code == 400 and "access-control-allow-origin" not in other_origin.headers
    assert other_method.status_code == 400
    assert other_header.status_code == 400
    assert simple.headers["access-control-allow-origin"] == "https://app.example.com"
    assert simple.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in simple_other.headers
    assert simple_other.status_code == 200  # CORS only tells browsers; the server still answers


def test_cors_origin_regex(pipelines: Path, app_client) -> None:
    with app_client(pipelines, cors_allow_origins=[], cors_allow_origin_regex=r"https://.*\.example\.com") as client:
        sub = preflight(client, "https://team.example.com")
        other = preflight(client, "https://example.org")
    assert sub.status_code == 200 and sub.headers["access-control-allow-origin"] == "https://team.example.com"
    assert other.status_code == 400


def _start_and_capture_warnings(tmp_path: Path, **settings) -> str:
    app = create_app(Settings(_env_file=None, pipelines_dir=str(tmp_path / "p"), watch_pipelines_dir=False, **settings))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("hayhooks")
    logger.addHandler(handler)
    try:
        with TestClient(app) as client:
            client.get("/health/live")
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_startup_warning_while_cors_is_wide_open(tmp_path: Path) -> None:
    assert "CORS" in _start_and_capture_warnings(tmp_path)
    restricted = _start_and_capture_warnings(tmp_path, cors_allow_origins=["https://app.example.com"])
    assert "CORS" not in restricted


def _run_path(document: dict, name: str) -> dict:
    return document["paths"][f"/{name}/run"]["post"]


def test_openapi_lists_run_routes_and_drops_them_on_undeploy(pipelines: Path, app_client) -> None:
    with app_client(pipelines) as client:
        document = client.get("/openapi.json").json()
        operation = _run_path(document, "search")
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        assert schema["required"] == ["query"]
        assert schema["properties"]["query"] == {"description": "What to look for.", "title": "Query", "type": "string"}
        assert schema["properties"]["limit"]["default"] == 5
        for fixed in (
            "/deploy_files",
            "/deploy-yaml",
            "/undeploy/{pipeline_name}",
            "/status",
            "/status/{pipeline_name}",
        ):
            assert fixed in document["paths"]

        files = {"pipeline_wrapper.py": WRAPPER.replace("Search things.", "Find more.")}
        assert client.post("/deploy_files", json={"name": "find", "files": files}).status_code == 200
        with_find = client.get("/openapi.json").json()
        assert _run_path(with_find, "find")["description"] == "Find more."
        # Two pipelines with the same request shape keep their own schemas.
        find_ref = _run_path(with_find, "find")["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        search_ref = _run_path(with_find, "search")["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert find_ref != search_ref

        assert client.post("/undeploy/find").status_code == 200
        after = client.get("/openapi.json").json()
        assert "/find/run" not in after["paths"] and "/search/run" in after["paths"]
        assert not any(name.startswith("Find") for name in after["components"]["schemas"])


def test_openapi_has_no_servers_without_root_path_and_docs_page_is_served(pipelines: Path, app_client) -> None:
    with app_client(pipelines) as client:
        document = client.get("/openapi.json").json()
        docs = client.get("/docs")
    assert "servers" not in document or document["servers"] in ([], [{"url": "/"}])
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert "/openapi.json" in docs.text and "swagger" in docs.text.lower()


def test_root_path_is_advertised_in_servers(pipelines: Path, app_client) -> None:
    with app_client(pipelines, root_path="/x") as client:
        document = client.get("/openapi.json").json()
        docs = client.get("/docs")
        run = client.post("/search/run", json={"query": "q", "limit": 1})
    assert document["servers"] == [{"url": "/x"}]
    assert "/search/run" in document["paths"]
    assert "/x/openapi.json" in docs.text
    assert run.json() == {"result": ["q"]}


def test_openapi_survives_a_pipeline_whose_types_have_no_schema(tmp_path: Path, app_client) -> None:
    code = """\
    from hayhooks import BasePipelineWrapper


    class Opaque:
        pass


    class PipelineWrapper(BasePipelineWrapper):
        def setup(self) -> None:
            pass

        def run_api(self, thing: Opaque = None) -> str:
            return "ok"
    """
    write_wrapper(tmp_path / "pipelines", "opaque", code)
    write_wrapper(tmp_path / "pipelines", "search", WRAPPER)
    with app_client(tmp_path / "pipelines") as client:
        response = client.get("/openapi.json")
        assert client.post("/opaque/run", json={}).json() == {"result": "ok"}
    assert response.status_code == 200
    assert "/search/run" in response.json()["paths"]
