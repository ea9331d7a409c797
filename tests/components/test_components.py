"""Small Haystack components the tests build pipelines from (importable as ``test_components``)."""

from __future__ import annotations

import time

from haystack import component
from haystack.dataclasses import StreamingChunk


@component
class Upper:
    @component.output_types(text=str)
    def run(self, text: str) -> dict:
        return {"text": text.upper()}


@component
class Suffix:
    def __init__(self, suffix: str = "!") -> None:
        self.suffix = suffix

    @component.output_types(text=str)
    def run(self, text: str) -> dict:
        return {"text": text + self.suffix}


@component
class Sleep:
    @component.output_types(text=str)
    def run(self, text: str, seconds: float = 0.0) -> dict:
        time.sleep(seconds)
        return {"text": text}


@component
class Counter:
    """Emits ``count`` numbered words through a streaming callback, then returns them joined."""

    @component.output_types(text=str)
    def run(self, count: int = 3, streaming_callback=None) -> dict:
        words = [f"w{i}" for i in range(count)]
        for word in words:
            if streaming_callback:
                streaming_callback(StreamingChunk(content=word + " "))
        return {"text": " ".join(words)}


# --- streaming chat components (OpenAI-compatible API tests) ----------------------------------------------------
import asyncio  # noqa: E402
import inspect  # noqa: E402

from haystack.dataclasses import ChatMessage, ToolCall, ToolCallDelta  # noqa: E402


async def _emit(callback, chunk) -> None:
    if callback is None:
        return
    result = callback(chunk)
    if inspect.isawaitable(result):
        await result


@component
class WordStreamer:
    """Passes ``text`` through, streaming it word by word (each word prefixed by ``prefix``)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def _chunks(self, text: str) -> list:
        return [StreamingChunk(content=f"{self.prefix}{word} ") for word in text.split()]

    @component.output_types(text=str)
    def run(self, text: str, streaming_callback=None) -> dict:
        for chunk in self._chunks(text):
            if streaming_callback:
                streaming_callback(chunk)
        return {"text": text}

    @component.output_types(text=str)
    async def run_async(self, text: str, streaming_callback=None) -> dict:
        for chunk in self._chunks(text):
            await _emit(streaming_callback, chunk)
        return {"text": text}


class _RunningCounter:
    """How many FakeChatGenerator runs are in progress (the disconnect tests wait for it to drop to 0)."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self.value = 0

    def add(self, delta: int) -> None:
        with self._lock:
            self.value += delta


RUNNING_GENERATORS = _RunningCounter()


@component
class FakeChatGenerator:
    """A chat generator without a model: streams a reply word by word, or first a tool call.

    - ``reply``: the answer text; ``None`` answers ``You said: <last user text>`` (or the last tool result).
    - ``tool_name`` / ``tool_arguments``: ask for this tool call (streamed as ``ToolCallDelta``s) unless the
      conversation already holds a tool result.
    - ``repeat``: the reply is repeated this many times; ``delay``: seconds slept after each chunk.
    """

    def __init__(
        self,
        reply: str | None = None,
        tool_name: str | None = None,
        tool_arguments: dict | None = None,
        repeat: int = 1,
        delay: float = 0.0,
    ) -> None:
        self.reply, self.tool_name, self.tool_arguments = reply, tool_name, tool_arguments or {}
        self.repeat, self.delay = repeat, delay

    def _answer(self, messages: list) -> str:
        if self.reply is not None:
            return self.reply
        for message in reversed(messages):
            if message.tool_call_results:
                return f"Tool said: {message.tool_call_results[0].result}"
            if message.is_from("user"):
                return f"You said: {message.text}"
        return "Hello"

    def _plan(self, messages: list) -> tuple:
        """The chunks to stream (a lazy iterator) and a function building the final reply."""
        wants_tool = self.tool_name and not any(message.tool_call_results for message in messages)
        if wants_tool:
            import json

            arguments = json.dumps(self.tool_arguments)
            half = len(arguments) // 2
            chunks = [
                StreamingChunk(
                    content="",
                    index=0,
                    start=True,
                    tool_calls=[ToolCallDelta(index=0, id="call_fake_1", tool_name=self.tool_name)],
                ),
                StreamingChunk(content="", index=0, tool_calls=[ToolCallDelta(index=0, arguments=arguments[:half])]),
                StreamingChunk(
                    content="",
                    index=0,
                    tool_calls=[ToolCallDelta(index=0, arguments=arguments[half:])],
                    finish_reason="tool_calls",
                ),
            ]
            call = ToolCall(tool_name=self.tool_name, arguments=self.tool_arguments, id="call_fake_1")
            return iter(chunks), lambda: ChatMessage.from_assistant(tool_calls=[call])
        words = self._answer(messages).split(" ")
        count = len(words) * self.repeat
        usage = {"prompt_tokens": 3, "completion_tokens": count, "total_tokens": 3 + count}

        def chunks():
            for position in range(count):
                word = words[position % len(words)]
                yield StreamingChunk(content=word if position == 0 else " " + word)
            yield StreamingChunk(content="", finish_reason="stop", meta={"usage": usage})

        text = " ".join(words)
        return chunks(), lambda: ChatMessage.from_assistant(" ".join([text] * self.repeat), meta={"usage": usage})

    @component.output_types(replies=list[ChatMessage])
    def run(self, messages: list[ChatMessage], streaming_callback=None, tools=None, generation_kwargs=None) -> dict:
        chunks, reply = self._plan(messages)
        RUNNING_GENERATORS.add(1)
        try:
            for chunk in chunks:
                if streaming_callback:
                    streaming_callback(chunk)
                if self.delay:
                    time.sleep(self.delay)
        finally:
            RUNNING_GENERATORS.add(-1)
        return {"replies": [reply()]}

    @component.output_types(replies=list[ChatMessage])
    async def run_async(
        self, messages: list[ChatMessage], streaming_callback=None, tools=None, generation_kwargs=None
    ) -> dict:
        chunks, reply = self._plan(messages)
        RUNNING_GENERATORS.add(1)
        try:
            for chunk in chunks:
                await _emit(streaming_callback, chunk)
                if self.delay:
                    await asyncio.sleep(self.delay)
        finally:
            RUNNING_GENERATORS.add(-1)
        return {"replies": [reply()]}


_GATES: dict = {}


def gate(name: str):
    """A named ``threading.Event`` shared by every pipeline of the process (tests open it over HTTP)."""
    import threading

    return _GATES.setdefault(name, threading.Event())
