"""OpenAI background responses through the official ``openai`` SDK: create, retrieve, cancel, resume a stream."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import launch_server, write_wrapper
from openai import OpenAI

WORDS_WRAPPER = """
import time
from collections.abc import Generator
from pathlib import Path

from hayhooks import BasePipelineWrapper, get_last_user_input_text


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_response(self, model: str, input_items: list[dict], body: dict) -> Generator:
        text = get_last_user_input_text(input_items)
        hold = (body.get("metadata") or {}).get("hold")

        def words():
            for word in text.split():
                yield word + " "
                while hold and Path(hold).exists():
                    time.sleep(0.02)

        return words()
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("background")
    write_wrapper(tmp_path / "pipelines", "words", WORDS_WRAPPER)
    env = {"HAYHOOKS_DURABLE_POLL_INTERVAL_SECONDS": "0.05"}
    process = launch_server(tmp_path / "pipelines", tmp_path, env=env)
    yield process
    process.stop()


@pytest.fixture
def client(server) -> OpenAI:
    return OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


def _wait(client: OpenAI, response_id: str, statuses: set[str]):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = client.responses.retrieve(response_id)
        if response.status in statuses:
            return response
        time.sleep(0.05)
    raise AssertionError(f"{response_id} never reached {statuses}")


def test_background_response_completes_and_is_retrieved(client: OpenAI):
    created = client.responses.create(model="words", input="one two three", background=True)
    assert created.id.startswith("resp_")
    assert created.status == "queued"
    assert created.background is True
    done = _wait(client, created.id, {"completed"})
    assert done.output_text == "one two three "
    assert done.id == created.id


def test_cancel_a_running_background_response(client: OpenAI, tmp_path: Path):
    hold = tmp_path / "hold"
    hold.write_text("x")
    created = client.responses.create(model="words", input="a b c", background=True, metadata={"hold": str(hold)})
    _wait(client, created.id, {"in_progress"})
    client.responses.cancel(created.id)
    hold.unlink()
    assert _wait(client, created.id, {"cancelled"}).status == "cancelled"


def test_stream_resumes_with_starting_after(client: OpenAI):
    created = client.responses.create(model="words", input="red green blue", background=True)
    _wait(client, created.id, {"completed"})
    events = list(client.responses.retrieve(created.id, stream=True))
    numbers = [event.sequence_number for event in events]
    assert numbers == list(range(len(numbers)))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert "".join(deltas) == "red green blue "
    cut = next(e.sequence_number for e in events if e.type == "response.output_text.delta")
    resumed = list(client.responses.retrieve(created.id, stream=True, starting_after=cut))
    assert [e.sequence_number for e in resumed] == numbers[cut + 1 :]
    assert [e.model_dump() for e in resumed] == [e.model_dump() for e in events[cut + 1 :]]


def test_unknown_response_is_404(client: OpenAI):
    import openai

    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_nope")
