"""``/v1/chat/completions`` and ``/v1/models`` driven by the official ``openai`` SDK and raw HTTP.

One real server (``hayhooks run`` subprocess) serves every pipeline of this module. The SDK clients validate
responses strictly against OpenAI's models, so a wrong field shape fails the test.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai_support import CHAT_WRAPPERS, YAML_PIPELINE, running_server, sse_data, write_pipelines

QUESTION = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    workdir: Path = tmp_path_factory.mktemp("openai-chat")
    pipelines = write_pipelines(workdir / "pipelines", CHAT_WRAPPERS, {"yaml_upper": YAML_PIPELINE})
    with running_server(workdir, pipelines, env={"HAYHOOKS_STREAMING_COMPONENTS": "all"}) as running:
        yield running


@pytest.fixture(scope="module")
def client(server) -> OpenAI:
    return OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, _strict_response_validation=True)


@pytest.fixture
def aclient(server) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, _strict_response_validation=True)


# --- models -----------------------------------------------------------------------------------------------------
def test_models_lists_every_deployed_pipeline(client: OpenAI, server) -> None:
    models = client.models.list()
    ids = {model.id for model in models.data}
    assert set(CHAT_WRAPPERS) | {"yaml_upper"} <= ids
    assert all(model.owned_by == "hayhooks" and model.object == "model" for model in models.data)
    assert client.models.retrieve("echo").id == "echo"
    alias = httpx.get(server.url + "/models").json()
    assert alias["object"] == "list" and {m["id"] for m in alias["data"]} == ids


def test_unknown_model_retrieve_is_404(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("nope")
    assert "nope" in caught.value.message


# --- non-streaming --------------------------------------------------------------------------------------------------
def test_string_answer_gets_model_messages_and_body(client: OpenAI) -> None:
    completion = client.chat.completions.create(model="echo", messages=QUESTION, temperature=0.25)
    assert completion.object == "chat.completion"
    assert completion.model == "echo"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "echo: hello there | model=echo | temperature=0.25"
    assert choice.finish_reason == "stop"


def test_alias_route_without_v1(server) -> None:
    response = httpx.post(server.url + "/chat/completions", json={"model": "echo", "messages": QUESTION})
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"].startswith("echo: hello there")


@pytest.mark.parametrize("model", ["gen_sync", "gen_async"])
def test_generator_answer_is_collected(client: OpenAI, model: str) -> None:
    completion = client.chat.completions.create(model=model, messages=QUESTION)
    assert completion.choices[0].message.content == "You said: hello there"
    assert completion.usage is not None and completion.usage.completion_tokens == 4


def test_async_method_is_preferred(client: OpenAI) -> None:
    completion = client.chat.completions.create(model="both", messages=QUESTION)
    assert completion.choices[0].message.content == "async"


def test_tool_call_in_non_streaming_answer(client: OpenAI) -> None:
    completion = client.chat.completions.create(model="tools", messages=QUESTION)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.id == "call_fake_1" and call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Rome", "unit": "celsius"}


# --- streaming ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["gen_sync", "gen_async", "echo"])
def test_stream_with_sync_client(client: OpenAI, model: str) -> None:
    chunks = list(client.chat.completions.create(model=model, messages=QUESTION, stream=True))
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert len({chunk.id for chunk in chunks}) == 1
    # Every delta carries the role (as Hayhooks 2.1.0 sends it); the last one has empty content.
    assert all(chunk.choices[0].delta.role == "assistant" for chunk in chunks)
    assert chunks[-1].choices[0].delta.content == ""
    assert [chunk.choices[0].finish_reason for chunk in chunks][-1] == "stop"
    assert all(chunk.choices[0].finish_reason is None for chunk in chunks[:-1])
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    expected = "You said: hello there" if model != "echo" else "echo: hello there | model=echo | temperature=None"
    assert text == expected
    if model != "echo":
        assert len(chunks) >= 5  # word by word, not one block


@pytest.mark.parametrize("model", ["gen_sync", "gen_async"])
async def test_stream_with_async_client(aclient: AsyncOpenAI, model: str) -> None:
    stream = await aclient.chat.completions.create(model=model, messages=QUESTION, stream=True)
    parts = [chunk.choices[0].delta.content or "" async for chunk in stream]
    assert "".join(parts) == "You said: hello there"


def test_stream_include_usage(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gen_sync", messages=QUESTION, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (3, 4)
    assert chunks[-2].choices[0].finish_reason == "stop"


def test_stream_tool_call_deltas(client: OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="tools", messages=QUESTION, stream=True))
    deltas = [
        call
        for chunk in chunks
        if chunk.choices and chunk.choices[0].delta.tool_calls
        for call in chunk.choices[0].delta.tool_calls
    ]
    assert deltas[0].index == 0 and deltas[0].id == "call_fake_1" and deltas[0].function.name == "get_weather"
    assert all(delta.index == 0 and delta.id is None for delta in deltas[1:])
    arguments = "".join(delta.function.arguments or "" for delta in deltas)
    assert json.loads(arguments) == {"city": "Rome", "unit": "celsius"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert chunks[0].choices[0].delta.role == "assistant"


def test_agent_stream_has_tool_calls_events_and_answer(server) -> None:
    body = {"model": "agent", "messages": [{"role": "user", "content": "weather in Paris?"}], "stream": True}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        payloads = sse_data(list(response.iter_lines()))
    assert payloads[-1] == "[DONE]"
    events = [p["event"] for p in payloads[:-1] if "event" in p]
    chunks = [p for p in payloads[:-1] if "choices" in p]
    assert events[0] == {
        "type": "status",
        "data": {"description": "Calling 'get_weather' tool...", "done": False, "hidden": False},
    }
    assert any(e["type"] == "status" and e["data"]["done"] for e in events)
    calls = [c for chunk in chunks for c in chunk["choices"][0]["delta"].get("tool_calls", [])]
    assert calls[0]["function"]["name"] == "get_weather"
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
    assert "<details" in text  # the tool result block from default_on_tool_call_end
    assert text.endswith("Tool said: sunny in Paris")
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_chunks_reach_the_client_while_the_answer_is_produced(server) -> None:
    """The second chunk is only produced after the client has received the first one."""
    body = {"model": "gate", "messages": [{"role": "user", "content": "chat-gate"}], "stream": True}
    received = []
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=90) as response:
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            content = json.loads(line[6:])["choices"][0]["delta"].get("content")
            if content:
                received.append(content)
                if content == "first ":
                    opened = httpx.post(server.url + "/gate/run", json={"name": "chat-gate"}, timeout=10)
                    assert opened.status_code == 200
    assert received == ["first ", "released"]


@pytest.mark.parametrize(
    ("model", "expected"), [("streams_default", "a:x a:y b:x b:y "), ("streams_first", "a:x a:y ")]
)
def test_streaming_components_from_wrapper_then_server_setting(client: OpenAI, server, model: str, expected: str):
    """HAYHOOKS_STREAMING_COMPONENTS=all on this server; ``streams_first`` overrides it with its own setting."""
    stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x y"}], stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream) == expected
    over_rest = httpx.post(f"{server.url}/{model}/run", json={"text": "x y"})
    assert over_rest.text == expected


def test_a_stream_holds_its_run_slot_until_it_ends(server) -> None:
    """``max_concurrent_runs = 1, max_queued_runs = 0``: while one answer streams, another request gets 503."""
    body = {"model": "one_at_a_time", "messages": [{"role": "user", "content": "slot"}], "stream": True}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=90) as response:
        lines = response.iter_lines()
        assert "first" in next(line for line in lines if line.startswith("data: {"))
        busy = httpx.post(server.url + "/v1/chat/completions", json=body, timeout=30)
        assert busy.status_code == 503 and busy.headers.get("retry-after")
        assert busy.json()["error"]["code"] == "pipeline_busy"
        assert httpx.post(server.url + "/gate/run", json={"name": "slot"}).status_code == 200  # another pipeline
        assert "released" in "".join(lines)
    again = httpx.post(server.url + "/v1/chat/completions", json={**body, "stream": False}, timeout=90)
    assert again.status_code == 200 and again.json()["choices"][0]["message"]["content"] == "first released"


# --- errors ---------------------------------------------------------------------------------------------------------
def _error(response: httpx.Response) -> dict:
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "code"}
    return error


def test_unknown_model_is_404(server, client: OpenAI) -> None:
    response = httpx.post(server.url + "/v1/chat/completions", json={"model": "nope", "messages": QUESTION})
    assert response.status_code == 404
    error = _error(response)
    assert error["code"] == "model_not_found" and "nope" in error["message"]
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=QUESTION)


@pytest.mark.parametrize("model", ["api_only", "yaml_upper"])
def test_model_without_chat_support_is_501(server, model: str) -> None:
    response = httpx.post(server.url + "/v1/chat/completions", json={"model": model, "messages": QUESTION})
    assert response.status_code == 501
    error = _error(response)
    assert "run_chat_completion" in error["message"] and error["code"] == "not_implemented"


def test_malformed_json_is_400(server) -> None:
    response = httpx.post(
        server.url + "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert _error(response)["type"] == "invalid_request_error"


@pytest.mark.parametrize("body", [{"model": "echo"}, {"model": "echo", "messages": "hi"}, {"messages": QUESTION}])
def test_invalid_body_is_422_naming_the_field(server, body: dict) -> None:
    response = httpx.post(server.url + "/v1/chat/completions", json=body)
    assert response.status_code == 422
    error = _error(response)
    missing = "messages" if "model" in body else "model"
    assert error["param"] == missing and missing in error["message"]


def test_wrapper_error_is_500_in_openai_shape(server, client: OpenAI) -> None:
    response = httpx.post(server.url + "/v1/chat/completions", json={"model": "fails_early", "messages": QUESTION})
    assert response.status_code == 500
    assert "boom before streaming" in _error(response)["message"]
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="fails_early", messages=QUESTION, stream=True)


def test_error_inside_stream_ends_it_with_an_error_event(server, client: OpenAI) -> None:
    body = {"model": "fails_midstream", "messages": QUESTION, "stream": True}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=30) as response:
        assert response.status_code == 200
        payloads = sse_data(list(response.iter_lines()))
    assert payloads[0]["choices"][0]["delta"]["content"] == "partial "
    assert "boom mid-stream" in payloads[-2]["error"]["message"]
    assert payloads[-1] == "[DONE]"
    with pytest.raises(openai.APIError, match="boom mid-stream"):
        list(client.chat.completions.create(model="fails_midstream", messages=QUESTION, stream=True))
