"""The chat examples under ``examples/``, served as they ship: offline docs chat, and the agent without a key."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI
from openai_support import running_server

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    workdir: Path = tmp_path_factory.mktemp("openai-examples")
    pipelines = workdir / "pipelines"
    for name in ("docs_chat", "agent_chat"):
        shutil.copytree(EXAMPLES / name, pipelines / name)
    env = {"HAYHOOKS_EXAMPLES_DOCS_DIR": str(REPO / "docs"), "DOCS_CHAT_WORD_DELAY": "0", "OPENAI_API_KEY": ""}
    with running_server(workdir, pipelines, env=env) as running:
        yield running


@pytest.fixture(scope="module")
def client(server) -> OpenAI:
    return OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


QUESTION = "How do I deploy a YAML pipeline?"


def test_docs_chat_streams_word_by_word(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="docs_chat", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    parts = [chunk.choices[0].delta.content for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
    answer = "".join(parts)
    assert len(parts) > 10
    assert "yaml" in answer.lower() and "Sources:" in answer
    whole = client.chat.completions.create(model="docs_chat", messages=[{"role": "user", "content": QUESTION}])
    assert whole.choices[0].message.content == answer


def test_docs_chat_over_rest_and_responses(server, client: OpenAI) -> None:
    rest = httpx.post(server.url + "/docs_chat/run", json={"question": QUESTION}, timeout=30)
    assert rest.status_code == 200
    result = rest.json()["result"]
    assert "Sources:" in result["answer"] and result["sources"]
    response = client.responses.create(model="docs_chat", input=QUESTION)
    assert response.output_text == result["answer"]


def test_agent_deploys_and_asks_for_the_key(server, client: OpenAI) -> None:
    assert "agent_chat" in {model.id for model in client.models.list().data}
    for stream in (False, True):
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(
                model="agent_chat", messages=[{"role": "user", "content": "hi"}], stream=stream
            )
        assert caught.value.status_code == 503
        assert "OPENAI_API_KEY" in caught.value.message
    rest = httpx.post(server.url + "/agent_chat/run", json={"question": "hi"}, timeout=30)
    assert rest.status_code >= 500 and "OPENAI_API_KEY" in rest.text
    assert "OPENAI_API_KEY is not set" in server.log()


def test_docs_chat_falls_back_to_a_built_in_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Copied away from the repository, with no docs dir configured or in the working dir."""
    copy = tmp_path / "copied" / "corpus.py"
    copy.parent.mkdir()
    shutil.copy(EXAMPLES / "docs_chat" / "corpus.py", copy)
    monkeypatch.delenv("HAYHOOKS_EXAMPLES_DOCS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    spec = importlib.util.spec_from_file_location("copied_corpus", copy)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    documents, origin = module.load_corpus()
    assert origin == "the built-in corpus" and documents
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "local.md").write_text("# Local\nA local page.\n")
    documents, origin = module.load_corpus()
    assert origin.endswith("docs") and documents[0].meta == {"file": "local.md", "section": "Local"}
