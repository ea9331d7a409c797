"""``streaming_generator`` / ``async_streaming_generator`` on real Haystack pipelines, agents and components."""

from __future__ import annotations

import asyncio
import contextvars
import sys
import time
from pathlib import Path

import pytest
from haystack import Pipeline, component
from haystack.components.agents import Agent
from haystack.components.builders import ChatPromptBuilder
from haystack.dataclasses import ChatMessage, StreamingChunk
from haystack.tools import Tool

sys.path.insert(0, str(Path(__file__).parent / "components"))

from test_components import RUNNING_GENERATORS, Counter, FakeChatGenerator, WordStreamer  # noqa: E402

from hayhooks import (  # noqa: E402
    async_streaming_generator,
    default_on_pipeline_end,
    default_on_tool_call_end,
    default_on_tool_call_start,
    streaming_generator,
)
from hayhooks.callbacks import PipelineEvent  # noqa: E402
from hayhooks.settings import get_settings  # noqa: E402
from hayhooks.streaming import bind_streaming_defaults, parse_streaming_components  # noqa: E402


def two_streamers() -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_component("first", WordStreamer(prefix="a:"))
    pipeline.add_component("second", WordStreamer(prefix="b:"))
    pipeline.connect("first.text", "second.text")
    return pipeline


def chat(**options) -> Pipeline:
    pipeline = Pipeline()
    template = [ChatMessage.from_user("{{q}}")]
    pipeline.add_component("prompt", ChatPromptBuilder(template=template, required_variables=["q"]))
    pipeline.add_component("llm", FakeChatGenerator(**options))
    pipeline.connect("prompt.prompt", "llm.messages")
    return pipeline


def texts(items) -> list[str]:
    return [item.content for item in items if isinstance(item, StreamingChunk) and item.content]


def collect_async(agen) -> list:
    async def run():
        return [item async for item in agen]

    return asyncio.run(run())


def in_fresh_context(func, *args):
    return contextvars.copy_context().run(func, *args)


ARGS = {"first": {"text": "x y"}}


# --- which components stream --------------------------------------------------------------------------------------
def test_parse_streaming_components() -> None:
    assert parse_streaming_components(None) is None
    assert parse_streaming_components("") is None
    assert parse_streaming_components(" ALL ") == "all"
    assert parse_streaming_components("a, b,") == ["a", "b"]
    assert parse_streaming_components(["all"]) == "all"
    assert parse_streaming_components(["llm"]) == ["llm"]


@pytest.mark.parametrize(
    ("components", "expected"),
    [
        (None, ["b:x ", "b:y "]),
        ("all", ["a:x ", "a:y ", "b:x ", "b:y "]),
        (["first"], ["a:x ", "a:y "]),
        ("first,second", ["a:x ", "a:y ", "b:x ", "b:y "]),
    ],
)
def test_streaming_components_argument(components, expected) -> None:
    got = in_fresh_context(
        lambda: texts(streaming_generator(two_streamers(), pipeline_run_args=ARGS, streaming_components=components))
    )
    assert got == expected
    got_async = in_fresh_context(
        lambda: texts(
            collect_async(
                async_streaming_generator(two_streamers(), pipeline_run_args=ARGS, streaming_components=components)
            )
        )
    )
    assert got_async == expected


def test_wrapper_setting_then_server_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    def with_bound(value):
        bind_streaming_defaults(value)
        return texts(streaming_generator(two_streamers(), pipeline_run_args=ARGS))

    assert in_fresh_context(with_bound, "first") == ["a:x ", "a:y "]
    assert in_fresh_context(with_bound, ["all"]) == ["a:x ", "a:y ", "b:x ", "b:y "]
    # an explicit argument wins over the bound default
    bind_and_argument = in_fresh_context(
        lambda: (
            bind_streaming_defaults("all"),
            texts(streaming_generator(two_streamers(), pipeline_run_args=ARGS, streaming_components=["second"])),
        )[1]
    )
    assert bind_and_argument == ["b:x ", "b:y "]
    # nothing bound: HAYHOOKS_STREAMING_COMPONENTS
    monkeypatch.setenv("HAYHOOKS_STREAMING_COMPONENTS", "all")
    get_settings.cache_clear()
    try:
        assert in_fresh_context(lambda: texts(streaming_generator(two_streamers(), pipeline_run_args=ARGS))) == [
            "a:x ",
            "a:y ",
            "b:x ",
            "b:y ",
        ]
    finally:
        monkeypatch.delenv("HAYHOOKS_STREAMING_COMPONENTS")
        get_settings.cache_clear()


def test_flat_run_arguments_are_accepted() -> None:
    items = list(streaming_generator(chat(), pipeline_run_args={"q": "flat input"}))
    assert "".join(texts(items)) == "You said: flat input"


def test_pipeline_without_streaming_component_is_rejected() -> None:
    pipeline = Pipeline()
    pipeline.add_component("count", Counter())
    pipeline.remove_component("count")
    with pytest.raises(ValueError, match="No streaming-capable components"):
        list(streaming_generator(pipeline))
    with pytest.raises(ValueError, match="Unsupported pipeline type"):
        list(streaming_generator(object()))


# --- results, callbacks, errors ----------------------------------------------------------------------------------
def test_include_outputs_from_and_on_pipeline_end() -> None:
    ends = []

    def on_end(result):
        ends.append(result)
        return f"[first said {result['first']['text']}]"

    items = list(
        streaming_generator(
            two_streamers(), pipeline_run_args=ARGS, include_outputs_from={"first"}, on_pipeline_end=on_end
        )
    )
    assert texts(items)[-1] == "[first said x y]"
    assert ends[0]["second"]["text"] == "x y"
    last = collect_async(
        async_streaming_generator(
            two_streamers(), pipeline_run_args=ARGS, include_outputs_from={"first"}, on_pipeline_end=on_end
        )
    )
    assert texts(last)[-1] == "[first said x y]"
    assert default_on_pipeline_end({"llm": {"replies": [ChatMessage.from_assistant("hi")]}}).startswith("{")


@component
class Exploding:
    """Streams one chunk, then fails."""

    @component.output_types(text=str)
    def run(self, text: str, streaming_callback=None) -> dict:
        streaming_callback(StreamingChunk(content="before "))
        raise RuntimeError("exploded")

    @component.output_types(text=str)
    async def run_async(self, text: str, streaming_callback=None) -> dict:
        await streaming_callback(StreamingChunk(content="before "))
        raise RuntimeError("exploded")


def test_errors_are_raised_to_the_reader() -> None:
    pipeline = Pipeline()
    pipeline.add_component("boom", Exploding())
    seen = []
    with pytest.raises(Exception, match="exploded"):
        for item in streaming_generator(pipeline, pipeline_run_args={"boom": {"text": "x"}}):
            seen.append(item.content)
    assert seen == ["before "]

    async def read_async() -> None:
        async for item in async_streaming_generator(pipeline, pipeline_run_args={"boom": {"text": "x"}}):
            seen.append(item.content)

    with pytest.raises(Exception, match="exploded"):
        asyncio.run(read_async())
    assert seen == ["before ", "before "]


def weather_agent() -> Agent:
    tool = Tool(
        name="get_weather",
        description="Weather of a city",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
        function=lambda city: f"sunny in {city}",
    )
    return Agent(
        chat_generator=FakeChatGenerator(tool_name="get_weather", tool_arguments={"city": "Oslo"}), tools=[tool]
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_agent_streams_with_tool_callbacks(mode: str) -> None:
    starts, ends = [], []

    def on_start(name, arguments, call_id):
        assert isinstance(arguments, dict)  # parsed JSON, {} while the arguments have not streamed yet
        starts.append((name, call_id))
        return "starting "

    def on_end(name, arguments, result, error):
        ends.append((name, arguments, result, error))
        return [PipelineEvent("status", {"description": "done"}), "ended "]

    options = dict(
        pipeline_run_args={"messages": [ChatMessage.from_user("weather?")]},
        on_tool_call_start=on_start,
        on_tool_call_end=on_end,
    )
    if mode == "sync":
        items = list(streaming_generator(weather_agent(), **options))
    else:
        items = collect_async(async_streaming_generator(weather_agent(), **options))
    assert starts == [("get_weather", "call_fake_1")]
    assert ends == [("get_weather", {"city": "Oslo"}, "sunny in Oslo", False)]
    strings = [item for item in items if isinstance(item, str)]
    assert strings == ["starting ", "ended "]
    assert any(isinstance(item, PipelineEvent) for item in items)
    assert "".join(texts(items)) == "Tool said: sunny in Oslo"
    tool_chunks = [item for item in items if isinstance(item, StreamingChunk) and item.tool_calls]
    assert tool_chunks[0].tool_calls[0].tool_name == "get_weather"


def test_default_tool_callbacks() -> None:
    event = default_on_tool_call_start("search", {"q": 1}, "call_1")
    assert event.to_event_dict() == {
        "type": "status",
        "data": {"description": "Calling 'search' tool...", "done": False, "hidden": False},
    }
    assert default_on_tool_call_start("", None, None) is None
    done, details = default_on_tool_call_end("search", {"q": 1}, "found", False)
    assert done.data["done"] is True and '<details type="search"' in details and "found" in details
    hidden, notification = default_on_tool_call_end("search", {}, "oops", True)
    assert hidden.data["hidden"] is True and notification.to_dict()["data"]["type"] == "error"


def test_callback_errors_do_not_break_the_stream() -> None:
    def broken(*args):
        raise RuntimeError("callback bug")

    items = list(
        streaming_generator(
            weather_agent(),
            pipeline_run_args={"messages": [ChatMessage.from_user("x")]},
            on_tool_call_start=broken,
            on_tool_call_end=broken,
        )
    )
    assert "".join(texts(items)) == "Tool said: sunny in Oslo"


def test_a_component_streams_on_its_own() -> None:
    generator = FakeChatGenerator(reply="just me")
    items = list(streaming_generator(generator, pipeline_run_args={"messages": [ChatMessage.from_user("x")]}))
    assert "".join(texts(items)) == "just me"
    args = {"messages": [ChatMessage.from_user("x")]}
    items = collect_async(async_streaming_generator(generator, pipeline_run_args=args))
    assert "".join(texts(items)) == "just me"


# --- sync-only components in async pipelines ---------------------------------------------------------------------
def counter_pipeline() -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_component("count", Counter())
    return pipeline


def test_sync_only_component_needs_allow_sync_streaming_callbacks() -> None:
    with pytest.raises(ValueError, match="allow_sync_streaming_callbacks"):
        collect_async(async_streaming_generator(counter_pipeline(), pipeline_run_args={"count": {"count": 2}}))
    for allow in (True, "auto"):
        items = collect_async(
            async_streaming_generator(
                counter_pipeline(), pipeline_run_args={"count": {"count": 3}}, allow_sync_streaming_callbacks=allow
            )
        )
        assert texts(items) == ["w0 ", "w1 ", "w2 "]


# --- stopping early ----------------------------------------------------------------------------------------------
def wait_for_no_running_generator() -> bool:
    for _ in range(300):
        if RUNNING_GENERATORS.value == 0:
            return True
        time.sleep(0.05)
    return False


def test_closing_the_sync_generator_stops_the_pipeline_thread() -> None:
    assert wait_for_no_running_generator()
    stream = streaming_generator(chat(repeat=10_000_000, delay=0.005), pipeline_run_args={"prompt": {"q": "loop"}})
    assert next(stream).content == "You"
    assert RUNNING_GENERATORS.value == 1
    stream.close()
    assert wait_for_no_running_generator(), "the pipeline thread went on after the reader closed the generator"


def test_closing_the_async_generator_cancels_the_pipeline_task() -> None:
    assert wait_for_no_running_generator()

    async def read_one_then_close() -> None:
        stream = async_streaming_generator(
            chat(repeat=10_000_000, delay=0.005), pipeline_run_args={"prompt": {"q": "loop"}}
        )
        assert (await stream.__anext__()).content == "You"
        await stream.aclose()
        for _ in range(300):
            if RUNNING_GENERATORS.value == 0:
                return
            await asyncio.sleep(0.05)

    asyncio.run(read_one_then_close())
    assert RUNNING_GENERATORS.value == 0


def test_hybrid_callbacks_stop_a_sync_component_thread() -> None:
    assert wait_for_no_running_generator()
    pipeline = Pipeline()
    pipeline.add_component("llm", FakeChatGenerator(repeat=10_000_000, delay=0.005))

    async def read_one_then_close() -> None:
        generator = pipeline.get_component("llm")
        generator.run_async = None  # behave as a sync-only component: it runs on a thread
        args = {"llm": {"messages": [ChatMessage.from_user("x")]}}
        stream = async_streaming_generator(pipeline, pipeline_run_args=args, allow_sync_streaming_callbacks="auto")
        assert (await stream.__anext__()).content == "You"
        await stream.aclose()

    asyncio.run(read_one_then_close())
    assert wait_for_no_running_generator(), "the component's thread went on after the reader left"
