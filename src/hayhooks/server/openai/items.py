"""What a wrapper may yield or return, read once for both OpenAI APIs.

Wrappers yield strings, Haystack ``StreamingChunk``s (text, tool-call deltas, reasoning), ``ChatMessage``s and UI
events (objects with ``to_event_dict()``, or ``{"type", "data"}`` dicts). ``ItemVisitor.feed`` sorts each item and
calls one ``on_*`` method, whose return value (SSE frames, or ``""``) it passes on. Strings take the fastest path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hayhooks.streaming import chunk_text, haystack_types

if TYPE_CHECKING:
    from haystack.dataclasses import ChatMessage, StreamingChunk

FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter"})
USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


@dataclass
class ToolDelta:
    """One tool-call fragment, with its index in the whole answer (calls of later LLM turns get new indexes)."""

    index: int
    id: str | None
    name: str | None
    arguments: str | None


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def event_payload(item: Any) -> dict[str, Any] | None:
    to_event = getattr(item, "to_event_dict", None)
    if callable(to_event):
        return to_event()
    if isinstance(item, dict):
        return item if "type" in item and "data" in item else None
    to_dict = getattr(item, "to_dict", None)
    if (
        callable(to_dict)
        and hasattr(item, "type")
        and hasattr(item, "data")
        and not isinstance(item, haystack_types()[0])
    ):
        return to_dict()
    return None


class ItemVisitor:
    """Base of the stream encoders and result collectors; tracks finish reason, usage and tool-call indexes."""

    def __init__(self) -> None:
        self.finish_reason: str | None = None
        self.usage: dict[str, int] | None = None
        self._tool_slots: dict[int, tuple[int, str | None]] = {}
        self._tool_count = 0

    # --- overridden by subclasses ----------------------------------------------------------------------------
    def on_text(self, text: str) -> str:
        raise NotImplementedError

    def on_reasoning(self, text: str) -> str:
        return ""

    def on_tool_calls(self, deltas: list[ToolDelta]) -> str:
        return ""

    def on_event(self, event: dict[str, Any]) -> str:
        return ""

    # --- dispatch ----------------------------------------------------------------------------------------------
    def feed(self, item: Any) -> str:
        if type(item) is str:
            return self.on_text(item) if item else ""
        chat_message, streaming_chunk = haystack_types()
        if isinstance(item, streaming_chunk):
            return self._chunk(item)
        if item is None:
            return ""
        if isinstance(item, chat_message):
            return self._message(item)
        event = event_payload(item)
        if event is not None:
            return self.on_event(event)
        text = chunk_text(item)
        return self.on_text(text) if text else ""

    def _chunk(self, chunk: StreamingChunk) -> str:
        if chunk.meta:
            self._add_usage(chunk.meta.get("usage"))
        if chunk.finish_reason in FINISH_REASONS:
            self.finish_reason = chunk.finish_reason
        if chunk.content:
            return self.on_text(chunk.content)
        if chunk.tool_calls:
            deltas = [self._tool_delta(c.index, c.id, c.tool_name, c.arguments) for c in chunk.tool_calls]
            return self.on_tool_calls(deltas)
        if chunk.reasoning is not None and chunk.reasoning.reasoning_text:
            return self.on_reasoning(chunk.reasoning.reasoning_text)
        return ""

    def _message(self, message: ChatMessage) -> str:
        frames = []
        if message.reasoning is not None and message.reasoning.reasoning_text:
            frames.append(self.on_reasoning(message.reasoning.reasoning_text))
        if message.text:
            frames.append(self.on_text(message.text))
        if message.tool_calls:
            deltas = [
                ToolDelta(self._new_tool_index(), call.id, call.tool_name, _json(call.arguments))
                for call in message.tool_calls
            ]
            frames.append(self.on_tool_calls(deltas))
            self.finish_reason = "tool_calls"
        self._add_usage(message.meta.get("usage") if message.meta else None)
        return "".join(frames)

    def _tool_delta(self, raw_index: int, call_id: str | None, name: str | None, arguments: str | None) -> ToolDelta:
        slot = self._tool_slots.get(raw_index)
        if slot is None or (call_id is not None and call_id != slot[1]):
            slot = (self._new_tool_index(), call_id)
            self._tool_slots[raw_index] = slot
        return ToolDelta(slot[0], call_id, name, arguments)

    def _new_tool_index(self) -> int:
        self._tool_count += 1
        return self._tool_count - 1

    def _add_usage(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        counts = {key: usage[key] for key in USAGE_KEYS if isinstance(usage.get(key), int)}
        if not counts:
            return
        total = self.usage or dict.fromkeys(USAGE_KEYS, 0)
        for key, value in counts.items():
            total[key] += value
        if "total_tokens" not in counts:
            total["total_tokens"] = total["prompt_tokens"] + total["completion_tokens"]
        self.usage = total


class ToolCallBuilder:
    """Assembles streamed tool-call fragments into complete OpenAI tool calls, in index order."""

    def __init__(self) -> None:
        self.calls: dict[int, dict[str, Any]] = {}

    def add(self, delta: ToolDelta) -> dict[str, Any]:
        call = self.calls.get(delta.index)
        if call is None:
            call = {"id": delta.id or f"call_{delta.index}", "name": delta.name or "", "arguments": ""}
            self.calls[delta.index] = call
        if delta.name and not call["name"]:
            call["name"] = delta.name
        if delta.arguments:
            call["arguments"] += delta.arguments
        return call

    def ordered(self) -> list[dict[str, Any]]:
        return [self.calls[index] for index in sorted(self.calls)]
