"""Chat Completions output: ``chat.completion.chunk`` SSE frames, and the ``chat.completion`` object.

Frames come from ``hayhooks.server.frames``: a delta frame is a template built once per stream and kind of delta,
so a chunk only encodes its own text. No model object is built per chunk.
"""

from __future__ import annotations

from typing import Any

from hayhooks.server.frames import DONE_FRAME, SLOT, FrameTemplate, data_frame
from hayhooks.server.openai.items import ItemVisitor, ToolCallBuilder, ToolDelta


def tool_delta_json(delta: ToolDelta) -> dict[str, Any]:
    entry: dict[str, Any] = {"index": delta.index}
    if delta.id is not None:
        entry["id"] = delta.id
    if delta.id is not None or delta.name is not None:
        entry["type"] = "function"
    function: dict[str, Any] = {}
    if delta.name is not None:
        function["name"] = delta.name
    if delta.arguments is not None or delta.name is not None:
        function["arguments"] = delta.arguments or ""
    entry["function"] = function
    return entry


def error_payload(message: str, code: str = "pipeline_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": "server_error", "param": None, "code": code}}


def error_frame(message: str, code: str = "pipeline_error") -> str:
    return data_frame(error_payload(message, code))


class ChatStreamEncoder(ItemVisitor):
    """Turns wrapper items into ``chat.completion.chunk`` frames. Every delta carries the assistant role (as
    Hayhooks 2.1.0 sends it, and as clients validating each chunk on its own require); the last one has empty
    content and the finish reason."""

    def __init__(self, completion_id: str, model: str, created: int, include_usage: bool = False) -> None:
        super().__init__()
        self._head = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}
        self._templates: dict[str, FrameTemplate] = {}  # per delta field
        self._text_template: FrameTemplate | None = None
        self._include_usage = include_usage
        self._ended_with_tools = False

    def _chunk_payload(self, delta: dict[str, Any], finish_reason: Any = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**self._head, "choices": [choice]}

    def _delta(self, field: str, value: Any) -> str:
        return self._template(field).fill(value)

    def _template(self, field: str) -> FrameTemplate:
        template = self._templates.get(field)
        if template is None:
            template = self._templates[field] = FrameTemplate(self._chunk_payload({"role": "assistant", field: SLOT}))
        return template

    def on_text(self, text: str) -> str:
        self._ended_with_tools = False
        template = self._text_template
        if template is None:
            template = self._text_template = self._template("content")
        return template.fill_text(text)

    def on_reasoning(self, text: str) -> str:
        return self._delta("reasoning_content", text)

    def on_tool_calls(self, deltas: list[ToolDelta]) -> str:
        self._ended_with_tools = True
        return self._delta("tool_calls", [tool_delta_json(delta) for delta in deltas])

    def on_event(self, event: dict[str, Any]) -> str:
        return data_frame({"event": event})

    def finish(self) -> str:
        """Last chunk with ``finish_reason``, the usage chunk when asked for and known, then ``[DONE]``."""
        reason = self.finish_reason or ("tool_calls" if self._ended_with_tools else "stop")
        frames = [data_frame(self._chunk_payload({"role": "assistant", "content": ""}, reason))]
        if self._include_usage and self.usage is not None:
            frames.append(data_frame({**self._head, "choices": [], "usage": self.usage}))
        frames.append(DONE_FRAME)
        return "".join(frames)

    def error(self, message: str) -> str:
        return error_frame(message) + DONE_FRAME


class ChatCollector(ItemVisitor):
    """Collects a whole answer for a non-streaming request."""

    def __init__(self) -> None:
        super().__init__()
        self._texts: list[str] = []
        self._reasoning: list[str] = []
        self._tools = ToolCallBuilder()

    def on_text(self, text: str) -> str:
        self._texts.append(text)
        return ""

    def on_reasoning(self, text: str) -> str:
        self._reasoning.append(text)
        return ""

    def on_tool_calls(self, deltas: list[ToolDelta]) -> str:
        for delta in deltas:
            self._tools.add(delta)
        return ""

    def completion(self, completion_id: str, model: str, created: int) -> dict[str, Any]:
        calls = self._tools.ordered()
        text = "".join(self._texts)
        message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None, "refusal": None}
        if calls:
            message["tool_calls"] = [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in calls
            ]
        if self._reasoning:
            message["reasoning_content"] = "".join(self._reasoning)
        reason = self.finish_reason or ("tool_calls" if calls and not text else "stop")
        body: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reason}],
        }
        if self.usage is not None:
            body["usage"] = self.usage
        return body
