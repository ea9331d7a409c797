"""Streams that fail or lose their client: an error status before the first chunk, an error frame midway, and
the generator closed when the client leaves.

One real server (``hayhooks run`` subprocess) serves ``/run`` streams (SSE and plain text, from sync and async
generators) and chat completion streams whose generators raise after ``fail_after`` items.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import openai
import pytest
from conftest import HAYHOOKS, base_env, launch_server, write_wrapper

WRAPPER = """
import asyncio

from hayhooks import BasePipelineWrapper, SSEStream


def _items(fail_after):
    for index in range(fail_after):
        yield f"item{index}"
    raise RuntimeError(f"broke after {fail_after}")


async def _items_async(fail_after):
    for index in range(fail_after):
        await asyncio.sleep(0)
        yield f"item{index}"
    raise RuntimeError(f"broke after {fail_after}")


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self, fail_after: int, sse: bool = True, use_async: bool = False):
        stream = _items_async(fail_after) if use_async else _items(fail_after)
        return SSEStream(stream) if sse else stream

    def run_chat_completion(self, model: str, messages: list, body: dict):
        return _items(int(messages[-1]["content"]))

    def run_response(self, model: str, input_items: list, body: dict):
        return _items(int(body["input"]))
"""


ENDLESS = """
import asyncio
import time
from pathlib import Path

from hayhooks import BasePipelineWrapper, SSEStream


def _endless(marker):
    try:
        for index in range(100_000):
            time.sleep(0.01)
            yield f"tick{index}"
    finally:
        Path(marker).write_text("closed")


async def _endless_async(marker):
    try:
        for index in range(100_000):
            await asyncio.sleep(0.01)
            yield f"tick{index}"
    finally:
        Path(marker).write_text("closed")


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self, marker: str, use_async: bool = False, sse: bool = True):
        stream = _endless_async(marker) if use_async else _endless(marker)
        return SSEStream(stream) if sse else stream
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    workdir: Path = tmp_path_factory.mktemp("stream-failures")
    pipelines = workdir / "pipelines"
    write_wrapper(pipelines, "breaks", WRAPPER)
    write_wrapper(pipelines, "endless", ENDLESS)
    running = launch_server(pipelines, workdir)
    try:
        assert not httpx.get(running.url + "/status", timeout=10).json().get("errors")
        yield running
    finally:
        running.stop()


def _events(body: str) -> list[tuple[str, str]]:
    """``(event name, data)`` of each SSE event ("message" when unnamed)."""
    events = []
    for block in body.strip().split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        events.append((name, "\n".join(data)))
    return events


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("sse", [True, False], ids=["sse", "plain"])
def test_run_stream_failing_before_its_first_chunk_is_a_500(server, sse: bool, use_async: bool) -> None:
    body = {"fail_after": 0, "sse": sse, "use_async": use_async}
    response = httpx.post(server.url + "/breaks/run", json=body, timeout=30)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert "breaks" in detail and "broke after 0" in detail


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_run_sse_stream_failing_midway_ends_with_an_error_event(server, use_async: bool) -> None:
    body = {"fail_after": 3, "sse": True, "use_async": use_async}
    response = httpx.post(server.url + "/breaks/run", json=body, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    assert events[:3] == [("message", "item0"), ("message", "item1"), ("message", "item2")]
    assert len(events) == 4
    name, data = events[3]
    assert name == "error"
    assert "broke after 3" in json.loads(data)["detail"]


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_run_plain_stream_failing_midway_is_cut_off(server, use_async: bool) -> None:
    body = {"fail_after": 2, "sse": False, "use_async": use_async}
    received = []
    with pytest.raises(httpx.RemoteProtocolError):  # the body ends without its last chunk
        with httpx.stream("POST", server.url + "/breaks/run", json=body, timeout=30) as response:
            assert response.status_code == 200
            for text in response.iter_text():
                received.append(text)
    assert "".join(received) == "item0item1"


def test_server_keeps_serving_after_failed_streams(server) -> None:
    for fail_after in (0, 1, 5):
        httpx.post(server.url + "/breaks/run", json={"fail_after": fail_after}, timeout=30)
    response = httpx.post(server.url + "/breaks/run", json={"fail_after": 1, "sse": True}, timeout=30)
    assert [name for name, _ in _events(response.text)] == ["message", "error"]
    assert httpx.get(server.url + "/status", timeout=10).status_code == 200


def test_chat_stream_failing_before_its_first_chunk_is_a_500(server) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="breaks", messages=[{"role": "user", "content": "0"}], stream=True)
    assert "broke after 0" in str(caught.value)


def test_chat_stream_failing_midway_sends_an_error_object_then_done(server) -> None:
    body = {"model": "breaks", "messages": [{"role": "user", "content": "2"}], "stream": True}
    response = httpx.post(server.url + "/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 200
    payloads = [data for _, data in _events(response.text)]
    assert payloads[-1] == "[DONE]"
    error = json.loads(payloads[-2])["error"]
    assert "broke after 2" in error["message"] and error["type"] == "server_error"
    contents = [json.loads(data)["choices"][0]["delta"].get("content") for data in payloads[:-2]]
    assert contents == ["item0", "item1"]
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    stream = client.chat.completions.create(model="breaks", messages=[{"role": "user", "content": "2"}], stream=True)
    with pytest.raises(openai.APIError):
        for _chunk in stream:
            pass


@pytest.mark.parametrize("sse", ["true", "false"], ids=["sse", "plain"])
def test_cli_reports_a_stream_failing_midway(server, sse: str) -> None:
    env = base_env(HAYHOOKS_HOST="127.0.0.1", HAYHOOKS_PORT=str(server.port))
    args = ["pipeline", "run", "breaks", "-p", "fail_after=2", "-p", f"sse={sse}"]
    done = subprocess.run([*HAYHOOKS, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "item0item1" in done.stdout
    assert "failed midway" in done.stderr


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("sse", [True, False], ids=["sse", "plain"])
def test_run_stream_generator_is_closed_when_the_client_leaves(
    server, tmp_path: Path, sse: bool, use_async: bool
) -> None:
    marker = tmp_path / "closed.txt"
    body = {"marker": str(marker), "use_async": use_async, "sse": sse}
    with httpx.stream("POST", server.url + "/endless/run", json=body, timeout=30) as response:
        assert response.status_code == 200
        for text in response.iter_text():
            if "tick1" in text:
                break
    deadline = time.monotonic() + 10  # liveness bound: the generator is closed soon after the disconnect
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "closed"


def test_responses_stream_fails_with_a_500_before_its_first_chunk_and_with_events_midway(server) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.InternalServerError) as caught:
        client.responses.create(model="breaks", input="0", stream=True)
    assert "broke after 0" in str(caught.value)
    body = {"model": "breaks", "input": "2", "stream": True}
    response = httpx.post(server.url + "/v1/responses", json=body, timeout=30)
    assert response.status_code == 200
    names = [name for name, _ in _events(response.text)]
    assert names[:2] == ["response.created", "response.in_progress"]
    assert names.count("response.output_text.delta") == 2
    assert names[-2:] == ["error", "response.failed"]
    failed = json.loads(_events(response.text)[-1][1])["response"]
    assert failed["status"] == "failed" and "broke after 2" in failed["error"]["message"]
