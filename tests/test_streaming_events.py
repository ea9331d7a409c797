"""``external_event_queue`` (both generators) and ``shield_pipeline_task`` (async), on real Haystack pipelines.

The component below hands control back and forth with the test through events, so the order of what the
generators yield is deterministic: queued items come out as they arrive, between the pipeline's chunks, and
those still queued when the pipeline ends are not lost.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

import pytest
from haystack import Pipeline, component
from haystack.dataclasses import StreamingChunk

from hayhooks import async_streaming_generator, streaming_generator

WAIT = 10.0


@component
class Relay:
    """Emits ``c0``, puts ``during`` on the external queue, waits until the reader saw it, emits ``c1``, puts
    ``late1``/``late2`` on the queue and returns."""

    def __init__(self) -> None:
        self.external: Any = None
        self.go = threading.Event()
        self.seen_during = threading.Event()
        self.async_go: asyncio.Event | None = None
        self.async_seen: asyncio.Event | None = None

    @component.output_types(text=str)
    def run(self, text: str, streaming_callback: Any = None) -> dict[str, str]:
        assert self.go.wait(WAIT)
        streaming_callback(StreamingChunk(content="c0"))
        self.external.put("during")
        assert self.seen_during.wait(WAIT)
        streaming_callback(StreamingChunk(content="c1"))
        self.external.put("late1")
        self.external.put({"custom": "late2"})
        return {"text": text}

    @component.output_types(text=str)
    async def run_async(self, text: str, streaming_callback: Any = None) -> dict[str, str]:
        assert self.async_go is not None and self.async_seen is not None
        await asyncio.wait_for(self.async_go.wait(), WAIT)
        await streaming_callback(StreamingChunk(content="c0"))
        self.external.put_nowait("during")
        await asyncio.wait_for(self.async_seen.wait(), WAIT)
        await streaming_callback(StreamingChunk(content="c1"))
        self.external.put_nowait("late1")
        self.external.put_nowait({"custom": "late2"})
        return {"text": text}


def _relay() -> tuple[Pipeline, Relay]:
    relay = Relay()
    pipeline = Pipeline()
    pipeline.add_component("relay", relay)
    return pipeline, relay


def _label(item: Any) -> Any:
    return item.content if isinstance(item, StreamingChunk) else item


def _check_order(seen: list[Any]) -> None:
    """Everything arrives once; queued items come between the chunks they were put between. Items queued just
    before the end may come before or after the pipeline's end item, but in their own order."""
    assert seen[:4] == ["pre", "c0", "during", "c1"]
    rest = seen[4:]
    assert sorted(map(str, rest)) == sorted(map(str, ["END", "late1", {"custom": "late2"}]))
    assert rest.index("late1") < rest.index({"custom": "late2"})


def test_sync_external_queue_items_are_merged_as_they_arrive() -> None:
    pipeline, relay = _relay()
    relay.external = external = queue.Queue()
    external.put("pre")
    seen = []
    stream = streaming_generator(
        pipeline,
        pipeline_run_args={"relay": {"text": "x"}},
        external_event_queue=external,
        on_pipeline_end=lambda result: "END",
    )
    for item in stream:
        seen.append(_label(item))
        if item == "pre":
            relay.go.set()
        if item == "during":
            relay.seen_during.set()
    _check_order(seen)
    assert external.empty()


async def test_async_external_queue_items_are_merged_as_they_arrive() -> None:
    pipeline, relay = _relay()
    relay.external = external = asyncio.Queue()
    relay.async_go, relay.async_seen = asyncio.Event(), asyncio.Event()
    external.put_nowait("pre")
    seen = []
    stream = async_streaming_generator(
        pipeline,
        pipeline_run_args={"relay": {"text": "x"}},
        external_event_queue=external,
        on_pipeline_end=lambda result: "END",
    )
    async for item in stream:
        seen.append(_label(item))
        if item == "pre":
            relay.async_go.set()
        if item == "during":
            relay.async_seen.set()
    _check_order(seen)
    assert external.empty()


@component
class Slow:
    """Streams ``count`` chunks, each after a short await; records whether it finished or was cancelled."""

    def __init__(self) -> None:
        self.outcome: asyncio.Future | None = None

    @component.output_types(text=str)
    def run(self, count: int, streaming_callback: Any = None) -> dict[str, str]:
        raise NotImplementedError("async only")

    @component.output_types(text=str)
    async def run_async(self, count: int, streaming_callback: Any = None) -> dict[str, str]:
        assert self.outcome is not None
        try:
            for index in range(count):
                await asyncio.sleep(0.01)
                await streaming_callback(StreamingChunk(content=f"s{index}"))
        except asyncio.CancelledError:
            self.outcome.set_result("cancelled")
            raise
        self.outcome.set_result("finished")
        return {"text": "done"}


def _slow() -> tuple[Pipeline, Slow]:
    slow = Slow()
    slow.outcome = asyncio.get_running_loop().create_future()
    pipeline = Pipeline()
    pipeline.add_component("slow", slow)
    return pipeline, slow


@pytest.mark.parametrize(("shield", "expected"), [(False, "cancelled"), (True, "finished")])
async def test_closing_the_stream_cancels_the_pipeline_unless_shielded(shield: bool, expected: str) -> None:
    pipeline, slow = _slow()
    args = {"slow": {"count": 20}}
    stream = async_streaming_generator(pipeline, pipeline_run_args=args, shield_pipeline_task=shield)
    first = await stream.__anext__()
    assert first.content == "s0"
    await stream.aclose()
    assert await asyncio.wait_for(asyncio.shield(slow.outcome), WAIT) == expected


@pytest.mark.parametrize(("shield", "expected"), [(False, "cancelled"), (True, "finished")])
async def test_cancelling_the_consumer_cancels_the_pipeline_unless_shielded(shield: bool, expected: str) -> None:
    pipeline, slow = _slow()
    got_one = asyncio.Event()

    async def consume() -> None:
        args = {"slow": {"count": 20}}
        async for _ in async_streaming_generator(pipeline, pipeline_run_args=args, shield_pipeline_task=shield):
            got_one.set()

    consumer = asyncio.ensure_future(consume())
    await asyncio.wait_for(got_one.wait(), WAIT)
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert await asyncio.wait_for(asyncio.shield(slow.outcome), WAIT) == expected


@component
class Immediate:
    """Streams one chunk at once, without waiting for anything."""

    @component.output_types(text=str)
    def run(self, text: str, streaming_callback: Any = None) -> dict[str, Any]:
        streaming_callback(StreamingChunk(content=text))
        return {"text": text}

    @component.output_types(text=str)
    async def run_async(self, text: str, streaming_callback: Any = None) -> dict[str, Any]:
        await streaming_callback(StreamingChunk(content=text))
        return {"text": text}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_items_queued_before_the_stream_come_first(mode: str) -> None:
    pipeline = Pipeline()
    pipeline.add_component("now", Immediate())
    external: Any = queue.Queue() if mode == "sync" else asyncio.Queue()
    for item in ("one", {"type": "two"}, "three"):
        external.put_nowait(item)
    options = dict(pipeline_run_args={"now": {"text": "chunk"}}, external_event_queue=external)
    if mode == "sync":
        seen = [_label(item) for item in streaming_generator(pipeline, **options)]
    else:

        async def collect() -> list[Any]:
            return [_label(item) async for item in async_streaming_generator(pipeline, **options)]

        seen = asyncio.run(collect())
    assert seen == ["one", {"type": "two"}, "three", "chunk"]
