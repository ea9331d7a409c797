"""The bundled examples as README's first command serves them: ``hayhooks run --pipelines-dir examples`` from the
repository root. A clean start prints only our own log lines; the examples answer bad input with a 422."""

from __future__ import annotations

import importlib.util
import re
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import openai
import pytest
from conftest import ServerProcess, launch_server

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
OUR_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \| (DEBUG|INFO|WARNING|ERROR|CRITICAL) *\| ")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("bundled-examples")
    env = {"OPENAI_API_KEY": "", "DOCS_CHAT_WORD_DELAY": "0"}
    running = launch_server(EXAMPLES, workdir, env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        expected = {"docs_search", "docs_chat", "agent_chat", "greeting"}
        while not expected <= set(httpx.get(f"{running.url}/status").json()["pipelines"]):
            assert time.monotonic() < deadline, running.log()
            time.sleep(0.1)
        yield running
    finally:
        running.stop()


def test_a_clean_start_prints_only_our_own_lines(server: ServerProcess) -> None:
    time.sleep(1.5)  # the watcher's first rescan of the dir, which must not log anything either
    log = server.log()
    assert "already exists" not in log, log  # Haystack's duplicate-document warnings
    assert "Traceback" not in log and "Warning:" not in log, log  # tracebacks, Python warnings
    lines = [line for line in log.splitlines() if line.strip()]
    strangers = [line for line in lines if not OUR_LINE.match(line)]
    assert not strangers, log
    # Not even our own: on a loopback bind the wide-open CORS default is a note, and agent_chat without a key is
    # how the examples are meant to be tried.
    warnings = [line for line in lines if "| WARNING" in line or "| ERROR" in line or "| CRITICAL" in line]
    assert not warnings, log


def _docs_search_corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_search_corpus", EXAMPLES / "docs_search" / "corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MARKDOWN = """# Serving

Start it:

```bash
hayhooks mcp run
# or over stdio
hayhooks mcp run --stdio
```

~~~
# a comment in a tilde fence
~~~

## Next section
text
"""


def test_docs_search_does_not_take_comments_in_code_blocks_for_headings() -> None:
    corpus = _docs_search_corpus()
    sections = corpus.split_sections("serving.md", MARKDOWN)
    assert [doc.meta["section"] for doc in sections] == ["Serving", "Next section"]
    assert "# or over stdio" in sections[0].content and "# a comment in a tilde fence" in sections[0].content
    titles = {doc.meta["section"] for doc in corpus.split_sections("mcp.md", (REPO / "docs" / "mcp.md").read_text())}
    assert "or over stdio" not in titles


def test_docs_search_hits_name_real_sections(server: ServerProcess) -> None:
    response = httpx.post(f"{server.url}/docs_search/run", json={"query": "over stdio", "top_k": 5}, timeout=30)
    assert response.status_code == 200, response.text
    hits = response.json()["result"]
    assert hits and all(not hit["section"].startswith("or ") for hit in hits), hits


def test_docs_chat_says_what_is_missing_with_a_422(server: ServerProcess) -> None:
    for stream in (False, True):
        chat = httpx.post(
            f"{server.url}/v1/chat/completions",
            json={"model": "docs_chat", "messages": [], "stream": stream},
            timeout=30,
        )
        assert chat.status_code == 422, chat.text
        assert "`messages` is empty" in chat.json()["error"]["message"]
        no_text = httpx.post(
            f"{server.url}/v1/chat/completions",
            json={"model": "docs_chat", "messages": [{"role": "system", "content": "be brief"}], "stream": stream},
            timeout=30,
        )
        assert no_text.status_code == 422 and "no user message" in no_text.json()["error"]["message"]
        response = httpx.post(f"{server.url}/v1/responses", json={"model": "docs_chat", "stream": stream}, timeout=30)
        assert response.status_code == 422, response.text
        assert "`input` is missing" in response.json()["error"]["message"]
    rest = httpx.post(f"{server.url}/docs_chat/run", json={"question": "  "}, timeout=30)
    assert rest.status_code == 422 and rest.json()["detail"][0]["loc"] == ["body", "question"], rest.text
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.chat.completions.create(model="docs_chat", messages=[])
    assert "messages" in caught.value.message
    assert "Query should be a non-empty string" not in server.log()
