"""``/v1/responses`` and ``/v1/files`` driven by the official ``openai`` SDK and raw HTTP."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai_support import CHAT_WRAPPERS, YAML_PIPELINE, running_server, write_pipelines

FILE_STORE = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None
        self.files = {}

    def run_file_upload(self, filename, content_type, content, purpose) -> dict:
        self.files[filename] = content
        return {"id": "file-stored-1", "filename": filename, "bytes": len(content), "purpose": purpose,
                "note": f"{content_type} stored"}

    def run_api(self, filename: str) -> str:
        return self.files[filename].decode()
"""


TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    workdir: Path = tmp_path_factory.mktemp("openai-responses")
    wrappers = {**CHAT_WRAPPERS, "store": FILE_STORE}
    pipelines = write_pipelines(workdir / "pipelines", wrappers, {"yaml_upper": YAML_PIPELINE})
    with running_server(workdir, pipelines) as running:
        yield running


@pytest.fixture(scope="module")
def client(server) -> OpenAI:
    return OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, _strict_response_validation=True)


@pytest.fixture
def aclient(server) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, _strict_response_validation=True)


def _dedupe(types: list[str]) -> list[str]:
    return [kind for i, kind in enumerate(types) if i == 0 or types[i - 1] != kind]


def test_string_input_and_body_reach_the_wrapper(client: OpenAI) -> None:
    response = client.responses.create(model="echo", input="hi there", instructions="be brief")
    assert response.object == "response" and response.status == "completed" and response.model == "echo"
    assert response.output_text == "echo: hi there | instructions=be brief"
    assert response.output[0].type == "message" and response.output[0].role == "assistant"


@pytest.mark.parametrize("model", ["gen_sync", "gen_async"])
def test_generator_answer_is_collected(client: OpenAI, model: str) -> None:
    items = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello there"}]}]
    response = client.responses.create(model=model, input=items)
    assert response.output_text == "You said: hello there"
    assert response.usage is not None and response.usage.output_tokens == 4


@pytest.mark.parametrize("model", ["gen_sync", "gen_async", "echo"])
def test_stream_events(client: OpenAI, model: str) -> None:
    events = list(client.responses.create(model=model, input="hello there", stream=True))
    assert _dedupe([event.type for event in events]) == TEXT_EVENTS
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    done = next(event for event in events if event.type == "response.output_text.done")
    assert done.text == deltas
    assert events[-1].response.output_text == deltas
    if model != "echo":
        assert deltas == "You said: hello there"


async def test_stream_helper_with_async_client(aclient: AsyncOpenAI) -> None:
    async with aclient.responses.stream(model="gen_async", input="hello there") as stream:
        deltas = [event.delta async for event in stream if event.type == "response.output_text.delta"]
        final = await stream.get_final_response()
    assert "".join(deltas) == "You said: hello there" == final.output_text


def test_stream_helper_with_sync_client(client: OpenAI) -> None:
    with client.responses.stream(model="gen_sync", input="hello there") as stream:
        text = "".join(event.delta for event in stream if event.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == final.output_text == "You said: hello there"


def test_tool_call_becomes_a_function_call_item(client: OpenAI) -> None:
    events = list(client.responses.create(model="tools", input="weather?", stream=True))
    kinds = [event.type for event in events]
    assert "response.function_call_arguments.delta" in kinds
    final = events[-1].response
    (call,) = final.output
    assert call.type == "function_call" and call.name == "get_weather" and call.call_id == "call_fake_1"
    assert json.loads(call.arguments) == {"city": "Rome", "unit": "celsius"}
    non_streamed = client.responses.create(model="tools", input="weather?")
    assert non_streamed.output[0].type == "function_call"


def test_chunks_reach_the_client_while_the_answer_is_produced(server) -> None:
    body = {"model": "gate", "input": "responses-gate", "stream": True}
    deltas = []
    with httpx.stream("POST", server.url + "/v1/responses", json=body, timeout=90) as response:
        for line in response.iter_lines():
            if line.startswith("data: ") and '"response.output_text.delta"' in line:
                deltas.append(json.loads(line[6:])["delta"])
                if deltas == ["first "]:
                    assert httpx.post(server.url + "/gate/run", json={"name": "responses-gate"}).status_code == 200
    assert deltas == ["first ", "released"]


def test_errors(server, client: OpenAI) -> None:
    unknown = httpx.post(server.url + "/v1/responses", json={"model": "nope", "input": "x"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    unsupported = httpx.post(server.url + "/v1/responses", json={"model": "gen_sync_missing", "input": "x"})
    assert unsupported.status_code == 404
    no_responses = httpx.post(server.url + "/responses", json={"model": "both", "input": "x"})
    assert no_responses.status_code == 501 and "run_response" in no_responses.json()["error"]["message"]
    invalid = httpx.post(server.url + "/v1/responses", json={"input": "x"})
    assert invalid.status_code == 422 and invalid.json()["error"]["param"] == "model"
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="nope", input="x")


def test_error_inside_stream_fails_the_response(client: OpenAI) -> None:
    events = list(client.responses.create(model="fails_midstream", input="x", stream=True))
    kinds = [event.type for event in events]
    assert kinds[-2:] == ["error", "response.failed"]
    assert "boom mid-stream" in events[-2].message
    assert events[-1].response.status == "failed" and "boom" in events[-1].response.error.message


# --- files ----------------------------------------------------------------------------------------------------------


def test_file_upload_without_a_handler_returns_metadata(tmp_path: Path, app_client) -> None:
    handler = _Capture()
    logging.getLogger("hayhooks.openai").addHandler(handler)
    try:
        with app_client(tmp_path / "empty") as http:
            response = http.post(
                "/v1/files", files={"file": ("notes.txt", b"hello", "text/plain")}, data={"purpose": "assistants"}
            )
    finally:
        logging.getLogger("hayhooks.openai").removeHandler(handler)
    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("file") and body["object"] == "file"
    assert (body["bytes"], body["filename"], body["purpose"]) == (5, "notes.txt", "assistants")
    assert isinstance(body["created_at"], int)
    assert any("run_file_upload" in message and "notes.txt" in message for message in handler.messages)


def test_file_upload_goes_to_the_wrapper(server, client: OpenAI) -> None:
    uploaded = client.files.create(file=("doc.md", b"# Title\n", "text/markdown"), purpose="user_data")
    assert uploaded.id == "file-stored-1" and uploaded.bytes == 8 and uploaded.filename == "doc.md"
    assert uploaded.purpose == "user_data"
    raw = httpx.post(server.url + "/files", files={"file": ("b.txt", b"abc", "text/plain")}, data={"purpose": "x"})
    assert raw.json()["note"] == "text/plain stored"
    assert httpx.post(server.url + "/store/run", json={"filename": "doc.md"}).json()["result"] == "# Title\n"


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
