"""An embedded deployment running a Haystack pipeline through ``HaystackDurableAdapter``: checkpoints before a
component, and a restarted app (a new deployment on the same SQLite file) resumes from that checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from embedding_support import FAST, user_app, wait_for
from fastapi.testclient import TestClient
from haystack import Pipeline, component
from pydantic import BaseModel

from hayhooks.durable import DurableContext, DurableDeployment
from hayhooks.durable.haystack import HaystackDurableAdapter
from hayhooks.durable.models import ExecutionKind
from hayhooks.durable.stores import SQLiteExecutionStore

CALLS: list[str] = []
FAILURES: list[str] = []  # Count raises once per entry (inputs are kept in the snapshot; this is not)


@component
class Extract:
    @component.output_types(words=list)
    def run(self, text: str) -> dict:
        CALLS.append("extract")
        return {"words": text.split()}


@component
class Count:
    @component.output_types(count=int)
    def run(self, words: list) -> dict:
        CALLS.append("count")
        if FAILURES:
            raise RuntimeError(FAILURES.pop())
        return {"count": len(words)}


class Doc(BaseModel):
    text: str


class Counted(BaseModel):
    count: int


def _pipeline() -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_component("extract", Extract())
    pipeline.add_component("count", Count())
    pipeline.connect("extract.words", "count.words")
    return pipeline


async def count_words(context: DurableContext, request: Doc) -> Counted:
    try:
        result = await context.run_pipeline_async({"extract": {"text": request.text}}, checkpoint_at="count")
    except Exception as exc:
        await context.retry(f"count failed: {exc}", delay=0)
    return Counted(count=result["count"]["count"])


def _deployment(store: SQLiteExecutionStore) -> DurableDeployment:
    adapter = HaystackDurableAdapter(_pipeline())
    return DurableDeployment(
        "words", "v1", store, Doc, count_words, kind=adapter.kind, result_model=Counted, adapter=adapter, config=FAST
    )


def test_the_adapter_knows_a_pipeline_and_refuses_anything_else() -> None:
    assert HaystackDurableAdapter(_pipeline()).kind is ExecutionKind.PIPELINE
    with pytest.raises(TypeError, match="Pipeline or Agent"):
        HaystackDurableAdapter(object())


def test_a_retried_pipeline_run_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    CALLS.clear()
    store = SQLiteExecutionStore(str(tmp_path / "durable.db"), "words")
    with TestClient(user_app(_deployment(store))) as client:
        done = wait_for(
            client, client.post("/jobs/run-durable", json={"text": "a b c"}).headers["location"], {"completed"}
        )
        assert done["result"] == {"count": 3}
        assert CALLS == ["extract", "count"]

        CALLS.clear()
        FAILURES.append("the count step broke once")
        location = client.post("/jobs/run-durable", json={"text": "one two"}).headers["location"]
        done = wait_for(client, location, {"completed", "failed"})
    assert (done["status"], done["result"], done["attempt"]) == ("completed", {"count": 2}, 2)
    # Attempt 1 ran extract, saved the snapshot before count, and failed in count; attempt 2 started at count.
    assert CALLS == ["extract", "count", "count"]
    assert any("before pipeline component 'count'" in event["message"] for event in done["progress"])
