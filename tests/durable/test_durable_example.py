"""The durable example under ``examples/``, served as it ships: submit, approve through the API, stream."""

from __future__ import annotations

import shutil
from pathlib import Path

from durable_support import sse_events, wait_status

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "durable_approval"


def test_durable_approval_example(app_client, tmp_path: Path):
    pipelines = tmp_path / "pipelines"
    shutil.copytree(EXAMPLE, pipelines / "durable_approval")
    text = " ".join(f"word{i}" for i in range(25))
    with app_client(pipelines, durable_poll_interval_seconds=0.05) as client:
        response = client.post(
            "/durable_approval/run-durable",
            json={"documents": [{"id": "a", "text": text}, {"id": "b", "text": "short one"}], "words_per_chunk": 10},
        )
        assert response.status_code == 202
        location = response.headers["location"]
        waiting = wait_status(client, location, {"waiting"})
        assert waiting["waiting"]["document_ids"] == ["a", "b"]
        assert "approved" in waiting["waiting"]["expected_input_schema"]["properties"]
        resumed = client.post(location + "/resume", json={"approved": True, "reviewer": "ana"})
        assert resumed.status_code == 202
        done = wait_status(client, location, {"completed"})
        chunks = done["result"]["chunks"]
        assert done["result"]["approved_by"] == "ana"
        assert [c["document_id"] for c in chunks] == ["a", "a", "a", "b"]
        assert " ".join(c["text"] for c in chunks if c["document_id"] == "a").split() == text.split()
        events = sse_events(client.get(location + "/stream").text)
        assert [e["event"] for e in events] == ["chunk"] * 4 + ["completed"]
        rejected = client.post("/durable_approval/run-durable", json={"documents": [{"id": "x", "text": "t"}]})
        rejected_at = rejected.headers["location"]
        wait_status(client, rejected_at, {"waiting"})
        client.post(rejected_at + "/resume", json={"approved": False})
        assert wait_status(client, rejected_at, {"failed"})["error"]["type"] == "PermissionError"
