"""What the OpenAI routes refuse: booleans that are not booleans, and chat with a YAML pipeline (which cannot chat).

OpenAI's own API answers ``"stream": "yes"`` with an error; so do we, naming the field, on every alias.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_wrapper, write_yaml
from openai_support import ECHO, HEADER

GREETING_YAML = """
components:
  builder:
    type: haystack.components.builders.prompt_builder.PromptBuilder
    init_parameters:
      template: "Hello {{ who }}!"
      required_variables: "*"
connections: []
inputs:
  who: builder.who
outputs:
  prompt: builder.prompt
"""

CHAT_PATHS = ["/v1/chat/completions", "/chat/completions"]
RESPONSES_PATHS = ["/v1/responses", "/responses"]


@pytest.fixture
def pipelines(tmp_path: Path) -> Path:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "echo", HEADER + ECHO)
    write_yaml(pipelines, "greeting", GREETING_YAML)
    return pipelines


def _chat(stream: object = False, **extra: object) -> dict:
    return {"model": "echo", "messages": [{"role": "user", "content": "hi"}], "stream": stream, **extra}


@pytest.mark.parametrize("value", ["yes", "true", "1", 1, 0, None, []])
def test_stream_must_be_a_boolean(pipelines: Path, app_client, value: object) -> None:
    with app_client(pipelines) as client:
        for path in CHAT_PATHS:
            response = client.post(path, json=_chat(stream=value))
            assert response.status_code == 422, (path, response.text)
            error = response.json()["error"]
            assert error["param"] == "stream" and "stream" in error["message"], error
        for path in RESPONSES_PATHS:
            response = client.post(path, json={"model": "echo", "input": "hi", "stream": value})
            assert response.status_code == 422, (path, response.text)
            assert response.json()["error"]["param"] == "stream", response.text


def test_include_usage_must_be_a_boolean_and_real_booleans_still_work(pipelines: Path, app_client) -> None:
    with app_client(pipelines) as client:
        refused = client.post(CHAT_PATHS[0], json=_chat(stream=True, stream_options={"include_usage": "yes"}))
        assert refused.status_code == 422, refused.text
        assert "include_usage" in refused.json()["error"]["message"]

        whole = client.post(CHAT_PATHS[0], json=_chat(stream=False))
        assert whole.status_code == 200, whole.text
        assert whole.json()["choices"][0]["message"]["content"].startswith("echo: hi")
        streamed = client.post(CHAT_PATHS[0], json=_chat(stream=True, stream_options={"include_usage": True}))
        assert streamed.status_code == 200 and "text/event-stream" in streamed.headers["content-type"]
        assert streamed.text.rstrip().endswith("data: [DONE]")
        response = client.post(RESPONSES_PATHS[0], json={"model": "echo", "input": "hi", "stream": False})
        assert response.status_code == 200, response.text


def test_a_yaml_pipeline_asked_to_chat_says_what_it_can_serve(pipelines: Path, app_client) -> None:
    with app_client(pipelines) as client:
        for path, body in (
            (CHAT_PATHS[0], {"model": "greeting", "messages": [{"role": "user", "content": "hi"}]}),
            (RESPONSES_PATHS[0], {"model": "greeting", "input": "hi"}),
        ):
            response = client.post(path, json=body)
            assert response.status_code == 501, response.text
            message = response.json()["error"]["message"]
            assert "YAML pipeline" in message and "/greeting/run" in message, message
            assert "its wrapper" not in message  # a YAML pipeline has no wrapper of the user's
        ran = client.post("/greeting/run", json={"who": "Ada"}).json()
        assert ran["result"]["builder"]["prompt"] == "Hello Ada!"
