"""Wrappers written as Hayhooks 2.1.0's docs show them, deployed from a pipelines dir to a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from compat_support import ALL_WRAPPERS, NO_RUN_METHOD_WRAPPER, sse_payloads
from conftest import write_wrapper
from openai import OpenAI


@pytest.fixture
def server(start_server, tmp_path: Path):
    pipelines = tmp_path / "pipelines"
    for name, code in ALL_WRAPPERS.items():
        write_wrapper(pipelines, name, code)
    return start_server(pipelines, env={"HAYHOOKS_LOG_FORMAT": "json", "HAYHOOKS_LOG_LEVEL": "DEBUG"})


def log_records(server) -> list[dict]:
    records = []
    for line in server.log().splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


def test_every_wrapper_loads(server) -> None:
    with server.client() as client:
        status = client.get("/status").json()
    assert set(ALL_WRAPPERS) <= set(status["pipelines"]), status


def test_legacy_module_paths_and_loguru_log(server) -> None:
    with server.client() as client:
        answer = client.post("/legacy_paths/run", json={"word": "Ada"}, headers={"X-Request-ID": "legacy-req-1"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"result": "Hello, Ada!"}
        chat = client.post(
            "/v1/chat/completions", json={"model": "legacy_paths", "messages": [{"role": "user", "content": "Bo"}]}
        )
        assert chat.json()["choices"][0]["message"]["content"] == "Hello, Bo!"
    records = log_records(server)
    setup_lines = [r for r in records if r["message"] == "legacy wrapper ready"]
    assert setup_lines and setup_lines[0]["level"] == "INFO"
    greeting = [r for r in records if r["message"] == "greeting Ada"]
    assert greeting and greeting[0]["level"] == "DEBUG"
    assert greeting[0]["request_id"] == "legacy-req-1"  # wrapper lines carry the request id, as the server's do


def test_headers_are_injected_and_not_a_body_field(server) -> None:
    with server.client() as client:
        answer = client.post(
            "/with_headers/run",
            json={"word": "Cy", "headers": {"x-tenant": "from-body"}},
            headers={"X-Tenant": "acme", "X-Request-ID": "hdr-req-1"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"] == {"greeting": "Hello, Cy!", "tenant": "acme", "headers_type": "Headers"}

        schema = client.get("/openapi.json").json()
        assert "/with_headers/run" in schema["paths"]
        request_schemas = [
            body
            for name, body in schema["components"]["schemas"].items()
            if "word" in body.get("properties", {}) and "greeting" not in json.dumps(body)
        ]
        assert request_schemas and all("headers" not in body["properties"] for body in request_schemas)

    sdk = OpenAI(base_url=server.url + "/v1", api_key="sk-compat-key")
    reply = sdk.chat.completions.create(model="with_headers", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "authorization=Bearer sk-compat-key"
    response = sdk.responses.create(model="with_headers", input="hi", extra_headers={"X-Tenant": "globex"})
    assert response.output_text == "tenant=globex"

    success = [r for r in log_records(server) if r["message"] == "tenant acme asked for Cy"]
    assert success and success[0]["level"] == "SUCCESS" and success[0]["request_id"] == "hdr-req-1"
    assert not [r for r in log_records(server) if r["message"] == "only at TRACE level"]  # below DEBUG


def test_open_webui_events_are_streamed_next_to_the_answer(server) -> None:
    with server.client() as client:
        stream = client.post(
            "/v1/chat/completions",
            json={"model": "open_webui_events", "stream": True, "messages": [{"role": "user", "content": "why"}]},
        )
    assert stream.status_code == 200, stream.text
    payloads = [json.loads(p) for p in sse_payloads(stream.text) if p != "[DONE]"]
    events = [p["event"] for p in payloads if "event" in p]
    assert events == [
        {"type": "status", "data": {"description": "Thinking...", "done": False, "hidden": False}},
        {"type": "notification", "data": {"type": "warning", "content": "Almost there"}},
        {"type": "source", "data": {"source": {"name": "docs"}, "document": ["a page"]}},
        {"type": "message", "data": {"content": "(message event)"}},
        {"type": "status", "data": {"description": "Done", "done": True, "hidden": False}},
    ]
    text = "".join(choice["delta"].get("content") or "" for p in payloads if "choices" in p for choice in p["choices"])
    assert text.startswith("You asked: why. ")
    assert '<details type="lookup" done="true">\n<summary>Lookup result</summary>\n\n42\n</details>' in text


def test_streaming_generator_from_the_old_path_ends_with_default_on_pipeline_end(server) -> None:
    sdk = OpenAI(base_url=server.url + "/v1", api_key="unused")
    chunks = sdk.chat.completions.create(
        model="pipeline_end", messages=[{"role": "user", "content": "one two"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == 'one two {"words": {"text": "one two"}}'


def test_a_wrapper_without_run_methods_is_refused_with_422(server) -> None:
    with server.client() as client:
        answer = client.post(
            "/deploy_files",
            json={"name": "serves_nothing", "files": {"pipeline_wrapper.py": NO_RUN_METHOD_WRAPPER}},
        )
        assert answer.status_code == 422, answer.text
        assert "run_api" in answer.json()["detail"] and "run_chat_completion" in answer.json()["detail"]
        assert "serves_nothing" not in client.get("/status").json()["pipelines"]
