"""The embedding example of docs/durable-runs.md runs as printed: its app, driven over HTTP in process."""

from __future__ import annotations

import re
import types
from pathlib import Path

from durable_support import sse_events
from embedding_support import wait_for
from fastapi.testclient import TestClient

DOC = Path(__file__).resolve().parents[2] / "docs" / "durable-runs.md"


def _example() -> str:
    section = DOC.read_text().split("## Embedding durable runs in your own FastAPI app", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the section has a python example"
    return match.group(1)


def test_the_documented_embedding_example_runs() -> None:
    module = types.ModuleType("durable_embedding_example")
    exec(compile(_example(), str(DOC), "exec"), module.__dict__)  # noqa: S102 - our own documentation
    ana, ben = {"X-User": "ana"}, {"X-User": "ben"}
    with TestClient(module.app) as client:
        body = {"text": "Durable runs outlive the request that started them", "needs_review": True}
        submitted = client.post("/jobs/run-durable", json=body, headers=ana)
        assert submitted.status_code == 202
        location = submitted.headers["location"]
        assert location.startswith("/jobs/executions/")
        waiting = wait_for(client, location, {"waiting"}, headers=ana)
        assert waiting["waiting"] == {
            "summary": "Durable runs outlive the request",
            "question": "Publish this summary?",
        }
        assert client.get(location, headers=ben).status_code == 404
        assert client.post(f"{location}/resume", json={"approved": True}, headers=ana).status_code == 202
        done = wait_for(client, location, {"completed"}, headers=ana)
        assert done["result"] == {"summary": "Durable runs outlive the request", "approved": True}
        events = sse_events(client.get(f"{location}/stream", headers=ana).text)
        assert [e["event"] for e in events] == ["chunk", "chunk", "completed"]  # one chunk per attempt
