"""The OpenAPI document is kept in parts: a deploy regenerates only the new pipeline's part."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_wrapper
from fastapi.testclient import TestClient
from starlette.responses import JSONResponse

from hayhooks.server import openapi

WRAPPER = '''\
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self, query: str, limit: int = 5) -> list[str]:
        """Search things."""
        return [query] * limit
'''

UPLOAD = '''\
from fastapi import UploadFile

from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self, query: str, files: list[UploadFile] | None = None) -> dict:
        """Take files."""
        return {"count": len(files or [])}
'''


@pytest.fixture
def pipelines(tmp_path: Path) -> Path:
    for name in ("alpha", "beta", "gamma"):
        write_wrapper(tmp_path / "pipelines", name, WRAPPER)
    return tmp_path / "pipelines"


@pytest.fixture
def generated(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Records which pipelines get their path item generated, and how often the fixed part is built."""
    calls: dict[str, list[str]] = {"pipelines": [], "fixed": []}
    path_item, get_openapi = openapi._path_item, openapi.get_openapi

    def counting_path_item(pipeline, schemas):
        calls["pipelines"].append(pipeline.name)
        return path_item(pipeline, schemas)

    def counting_get_openapi(**kwargs):
        calls["fixed"].append(kwargs["title"])
        return get_openapi(**kwargs)

    monkeypatch.setattr(openapi, "_path_item", counting_path_item)
    monkeypatch.setattr(openapi, "get_openapi", counting_get_openapi)
    return calls


def _deploy(client, name: str, code: str, overwrite: bool = False):
    return client.post(
        "/deploy_files", json={"name": name, "files": {"pipeline_wrapper.py": code}, "overwrite": overwrite}
    )


def _served_equals_document(client) -> bytes:
    """GET /openapi.json answers exactly what JSONResponse would make of app.openapi()."""
    body = client.get("/openapi.json").content
    assert body == JSONResponse(client.app.openapi()).body
    return body


def test_a_deploy_generates_only_the_new_pipelines_part(pipelines: Path, app_client, generated) -> None:
    with app_client(pipelines) as client:
        first = _served_equals_document(client)
        assert sorted(generated["pipelines"]) == ["alpha", "beta", "gamma"]
        assert len(generated["fixed"]) == 1

        generated["pipelines"].clear()
        assert _deploy(client, "delta", WRAPPER).status_code == 200
        with_delta = _served_equals_document(client)
        assert generated["pipelines"] == ["delta"]
        assert b'"/delta/run"' in with_delta and b'"/delta/run"' not in first

        generated["pipelines"].clear()
        assert _deploy(client, "delta", UPLOAD, overwrite=True).status_code == 200
        redeployed = _served_equals_document(client)
        assert generated["pipelines"] == ["delta"]
        assert redeployed != with_delta and b"multipart/form-data" in redeployed

        generated["pipelines"].clear()
        assert client.post("/undeploy/delta").status_code == 200
        after = _served_equals_document(client)
        assert generated["pipelines"] == []
        assert after == first  # same pipelines, same document
        assert len(generated["fixed"]) == 1  # the fixed routes never changed


def test_repeated_reads_reuse_the_same_document(pipelines: Path, app_client, generated) -> None:
    with app_client(pipelines) as client:
        builder = client.app.openapi
        assert isinstance(builder, openapi.OpenAPIBuilder)
        assert builder.render() is builder.render()
        assert client.app.openapi() is client.app.openapi()
        assert client.get("/openapi.json").content == client.get("/openapi.json").content
        assert sorted(generated["pipelines"]) == ["alpha", "beta", "gamma"]


def test_new_routes_rebuild_the_fixed_part(pipelines: Path, app_client, generated) -> None:
    with app_client(pipelines) as client:
        assert "/extra" not in client.get("/openapi.json").json()["paths"]
        client.app.add_api_route("/extra", lambda: {"ok": True}, methods=["GET"])
        document = client.get("/openapi.json").json()
        assert "/extra" in document["paths"] and "/alpha/run" in document["paths"]
        assert len(generated["fixed"]) == 2
        assert sorted(generated["pipelines"]) == ["alpha", "beta", "gamma"]  # pipeline parts were kept


def test_a_root_path_missing_from_servers_is_put_first(pipelines: Path, app_client) -> None:
    with app_client(pipelines) as client:
        assert "servers" not in client.get("/openapi.json").json()
        # A prefix set by the ASGI server (as with uvicorn --root-path), not by the settings.
        document = TestClient(client.app, root_path="/proxied").get("/openapi.json").json()
        assert "servers" not in client.get("/openapi.json").json()
    assert document["servers"] == [{"url": "/proxied"}]
    assert "/alpha/run" in document["paths"]
