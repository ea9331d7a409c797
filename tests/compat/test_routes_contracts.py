"""Routes and documents as Hayhooks 2.1.0 publishes them: path parameter and schema names, /status fields,
/draw offline, file- ids, OpenAI error shapes from the server's own 401/413/429, and HAYHOOKS_ROOT_PATH."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import httpx
import openai
import pytest
from cliroutes_support import ECHO_WRAPPER, free_port, start_command
from conftest import write_wrapper

CHAT_PIPELINE = '''
from haystack import Pipeline
from haystack.components.builders import PromptBuilder
from pydantic import BaseModel

from hayhooks import BasePipelineWrapper


class Hit(BaseModel):
    text: str


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = Pipeline()
        self.pipeline.add_component("first", PromptBuilder(template="Q: {{ question }}"))
        self.pipeline.add_component("second", PromptBuilder(template="{{ previous }}!"))
        self.pipeline.connect("first.prompt", "second.previous")

    def run_api(self, question: str) -> Hit:
        """Ask a question."""
        return Hit(text=self.pipeline.run({"first": {"question": question}})["second"]["prompt"])

    def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> str:
        return "hello"
'''

KEY = "sk-compat-invoke-key-0123456789"


@pytest.fixture
def pipelines(tmp_path: Path) -> Path:
    folder = tmp_path / "pipelines"
    write_wrapper(folder, "qa_bot", CHAT_PIPELINE)
    write_wrapper(folder, "echo", ECHO_WRAPPER)
    return folder


def test_openapi_names_match_2_1_0(app_client, pipelines: Path) -> None:
    with app_client(pipelines) as client:
        document = client.get("/openapi.json").json()
    paths = document["paths"]
    operations = {(path, method): op.get("operationId") for path, item in paths.items() for method, op in item.items()}
    for path, method, operation_id in (
        ("/status", "get", "status_all"),
        ("/status/{pipeline_name}", "get", "status_pipeline"),
        ("/draw/{pipeline_name}", "get", "pipeline_draw"),
        ("/deploy_files", "post", "pipeline_deploy"),
        ("/deploy-yaml", "post", "yaml_pipeline_deploy"),
        ("/undeploy/{pipeline_name}", "post", "pipeline_undeploy"),
        ("/v1/models", "get", "openai_models"),
        ("/models", "get", "openai_models_alias"),
        ("/v1/chat/completions", "post", "openai_chat_completions"),
        ("/chat/completions", "post", "openai_chat_completions_alias"),
        ("/v1/responses", "post", "openai_responses"),
        ("/responses", "post", "openai_responses_alias"),
        ("/v1/files", "post", "openai_files_create"),
        ("/files", "post", "openai_files_create_alias"),
        ("/qa_bot/run", "post", "qa_bot_run_qa_bot_run_post"),
    ):
        assert operations.get((path, method)) == operation_id, (path, method)
    for path in ("/status/{pipeline_name}", "/undeploy/{pipeline_name}", "/draw/{pipeline_name}"):
        (operation,) = paths[path].values()
        assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == ["pipeline_name"]

    def body_schema(path: str, media: str = "application/json") -> str:
        return paths[path]["post"]["requestBody"]["content"][media]["schema"]["$ref"].rsplit("/", 1)[1]

    assert body_schema("/deploy_files") == "PipelineFilesRequest"
    assert body_schema("/deploy-yaml") == "YamlDeployRequest"
    assert body_schema("/v1/chat/completions") == "ChatRequest"
    assert body_schema("/v1/responses") == "ResponseRequest"
    assert body_schema("/v1/files", "multipart/form-data") == "Body_openai_files_create"
    assert body_schema("/qa_bot/run") == "qa_botRunRequest"
    ok = paths["/qa_bot/run"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok.endswith("/qa_botRunResponse")
    models_ok = paths["/v1/models"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert models_ok.endswith("/ModelsResponse")

    def ok_schema(path: str) -> str:
        return paths[path]["post"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/")[-1]

    assert ok_schema("/v1/chat/completions") == "ChatCompletion" and ok_schema("/v1/responses") == "Response"
    schemas = document["components"]["schemas"]
    for name in ("StatusResponse", "PipelineStatusResponse", "DeploymentSummary", "UndeployResponse", "Choice"):
        assert name in schemas, name


def test_path_parameters_answer_under_their_2_1_0_names(app_client, pipelines: Path) -> None:
    with app_client(pipelines, admin_api_keys=[]) as client:
        assert client.get("/status/echo").json()["pipeline"] == "echo"
        assert client.get("/status/nope").status_code == 404
        assert client.post("/undeploy/nope").status_code == 404


def test_status_carries_2_1_0_fields_and_ours(app_client, pipelines: Path) -> None:
    with app_client(pipelines) as client:
        status = client.get("/status").json()
    assert status["status"] == "Up!" and sorted(status["pipelines"]) == ["echo", "qa_bot"]
    assert status["durable_mode"] is False
    assert {"healthy": True, "deployments": {}}.items() <= status["durable"].items()  # ours adds the store
    assert status["capabilities"] == {"execution_enumeration": False}
    by_name = {d["name"]: d for d in status["deployments"]}
    assert by_name["qa_bot"]["type"] == "pipeline" and by_name["echo"]["type"] == "unknown"
    assert by_name["qa_bot"]["capabilities"] == ["run_api", "chat_completion", "mcp_eligible"]
    assert by_name["echo"]["capabilities"] == ["run_api", "mcp_eligible"]
    assert by_name["qa_bot"]["execution_mode"] == "request-bound" and by_name["qa_bot"]["state"] == "Loaded"
    assert by_name["qa_bot"]["description"] == "Ask a question."
    # ours stay
    assert status["worker"] and {d["name"] for d in status["details"]} == {"echo", "qa_bot"}


def test_draw_renders_mermaid_offline(app_client, pipelines: Path) -> None:
    with app_client(pipelines) as client:
        drawn = client.get("/draw/qa_bot")
        assert drawn.status_code == 200 and drawn.headers["content-type"].startswith("text/plain")
        lines = drawn.text.splitlines()
        assert lines[0] == "flowchart TD"
        boxes = [line for line in lines if "PromptBuilder" in line]
        assert len(boxes) == 2 and any('"first<br/>' in b for b in boxes) and any('"second<br/>' in b for b in boxes)
        assert any("-->" in line and "prompt → previous" in line for line in lines)
        picture = client.get("/draw/qa_bot", params={"format": "svg"})
        assert picture.status_code == 200 and picture.headers["content-type"] == "image/svg+xml"
        root = ElementTree.fromstring(picture.text)
        texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
        assert {"first", "second", "PromptBuilder", "prompt → previous"} <= set(texts)
        assert len(list(root.iter("{http://www.w3.org/2000/svg}rect"))) == 2
        assert client.get("/draw/qa_bot", params={"format": "png"}).status_code == 422
        no_pipeline = client.get("/draw/echo")
        assert no_pipeline.status_code == 404 and "no Haystack pipeline" in no_pipeline.json()["detail"]
        assert client.get("/draw/nope").status_code == 404


def test_uploaded_file_ids_start_with_file_dash(app_client, pipelines: Path) -> None:
    with app_client(pipelines) as client:
        oai = openai.OpenAI(base_url=f"{client.base_url}v1", api_key="unused", http_client=client, max_retries=0)
        uploaded = oai.files.create(file=("notes.txt", b"hello"), purpose="user_data")
    assert uploaded.id.startswith("file-") and uploaded.filename == "notes.txt"


def _openai(client: httpx.Client, api_key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{client.base_url}v1", api_key=api_key, http_client=client, max_retries=0)


def _assert_openai_error(exc: openai.APIStatusError, status: int, code: str) -> None:
    assert exc.status_code == status
    body = exc.response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == code and body["error"]["message"]


def test_openai_routes_answer_401_in_openai_shape(app_client, pipelines: Path) -> None:
    with app_client(pipelines, api_keys=[KEY]) as client:
        with pytest.raises(openai.AuthenticationError) as denied:
            _openai(client, "sk-wrong-key-000000000000").chat.completions.create(
                model="qa_bot", messages=[{"role": "user", "content": "hi"}]
            )
        _assert_openai_error(denied.value, 401, "invalid_api_key")
        assert denied.value.response.headers["www-authenticate"].startswith("Bearer")
        # the key works, and non-OpenAI routes keep {"detail": ...}
        answer = _openai(client).chat.completions.create(model="qa_bot", messages=[{"role": "user", "content": "x"}])
        assert answer.choices[0].message.content == "hello"
        assert set(client.post("/echo/run", json={"text": "a"}).json()) == {"detail"}


def test_openai_routes_answer_413_in_openai_shape(app_client, pipelines: Path) -> None:
    with app_client(pipelines, max_request_body_mb=0.01) as client:
        with pytest.raises(openai.APIStatusError) as too_big:
            _openai(client).chat.completions.create(
                model="qa_bot", messages=[{"role": "user", "content": "x" * 20_000}]
            )
        _assert_openai_error(too_big.value, 413, "request_too_large")
        # chunked upload, no content-length: the limit is found while the body is read
        chunks = iter([b'{"model": "qa_bot", "messages": [{"role": "user", "content": "', b"x" * 20_000, b'"}]}'])
        streamed = client.post("/v1/chat/completions", content=chunks, headers={"content-type": "application/json"})
        assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "request_too_large"
        assert set(client.post("/echo/run", json={"text": "x" * 20_000}).json()) == {"detail"}


def test_openai_routes_answer_429_in_openai_shape(app_client, pipelines: Path) -> None:
    with app_client(pipelines, rate_limit="1/minute") as client:
        oai = _openai(client)
        assert [m.id for m in oai.models.list().data]  # the one allowed request
        with pytest.raises(openai.RateLimitError) as limited:
            oai.models.list()
        _assert_openai_error(limited.value, 429, "rate_limit_exceeded")
        assert int(limited.value.response.headers["retry-after"]) >= 1


def test_root_path_serves_with_and_without_the_prefix_and_warns_nothing(tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "echo", ECHO_WRAPPER)
    port = free_port()
    argv = ["run", "-h", "127.0.0.1", "-p", str(port), "-d", str(pipelines)]
    server = start_command(argv, tmp_path, port=port, env={"HAYHOOKS_ROOT_PATH": "/api"})
    try:
        with server.client() as client:
            for prefix in ("", "/api"):
                assert client.get(f"{prefix}/status").json()["pipelines"] == ["echo"], prefix
                answer = client.post(f"{prefix}/echo/run", json={"text": "prefixed"})
                assert answer.json() == {"result": "PREFIXED"}, prefix
                assert client.get(f"{prefix}/openapi.json").json()["servers"] == [{"url": "/api"}], prefix
            assert client.get("/apix/status").status_code == 404
        log = server.log()
        assert "Warning" not in log and "deprecated" not in log.lower(), log
    finally:
        server.stop()
