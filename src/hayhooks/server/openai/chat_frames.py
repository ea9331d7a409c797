"""Chat Completions output: ``chat.completion.chunk`` SSE frames, and the ``chat.completion`` object.

Frames are built by string concatenation around a per-stream prefix computed once; only the delta's text goes
through the (C-accelerated) JSON string encoder. No model object is built per chunk.
"""

from __future__ import annotations

import json
from typing import Any

from hayhooks.server.openai.items import ItemVisitor, ToolCallBuilder, ToolDelta

encode_string = json.encoder.encode_basestring  # type: ignore[attr-defined]
DONE_FRAME = "data: [DONE]\n\n"


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


def error_frame(message: str, code: str = "pipeline_error") -> str:
    payload = {"error": {"message": message, "type": "server_error", "param": None, "code": code}}
    return "data: " + json.dumps(payload, ensure_ascii=False) + "\n\n"


class ChatStreamEncoder(ItemVisitor):
    """Turns wrapper items into ``chat.completion.chunk`` frames; the first delta carries the assistant role."""

    def __init__(self, completion_id: str, model: str, created: int, include_usage: bool = False) -> None:
        super().__init__()
        self._prefix = (
            f'data: {{"id":{encode_string(completion_id)},"object":"chat.completion.chunk","created":{created},'
            f'"model":{encode_string(model)},'
        )
        self._open = self._prefix + '"choices":[{"index":0,"delta":{'
        self._close = '},"logprobs":null,"finish_reason":null}]}\n\n'
        self._role = '"role":"assistant",'
        self._include_usage = include_usage
        self._ended_with_tools = False

    def _delta(self, body: str) -> str:
        role, self._role = self._role, ""
        return self._open + role + body + self._close

    def on_text(self, text: str) -> str:
        self._ended_with_tools = False
        return self._delta('"content":' + encode_string(text))

    def on_reasoning(self, text: str) -> str:
        return self._delta('"reasoning_content":' + encode_string(text))

    def on_tool_calls(self, deltas: list[ToolDelta]) -> str:
        self._ended_with_tools = True
        calls = json.dumps([tool_delta_json(delta) for delta in deltas], ensure_ascii=False)
        return self._delta('"tool_calls":' + calls)

    def on_event(self, event: dict[str, Any]) -> str:
        return "data: " + json.dumps({"event": event}, ensure_ascii=False, default=str) + "\n\n"

    def finish(self) -> str:
        """Last chunk with ``finish_reason``, the usage chunk when asked for and known, then ``[DONE]``."""
        reason = self.finish_reason or ("tool_calls" if self._ended_with_tools else "stop")
        role = self._role.rstrip(",")
        self._role = ""
        frames = [
            self._prefix + '"choices":[{"index":0,"delta":{' + role + '},"logprobs":null,'
            f'"finish_reason":"{reason}"}}]}}\n\n'
        ]
        if self._include_usage and self.usage is not None:
            frames.append(self._prefix + '"choices":[],"usage":' + json.dumps(self.usage) + "}\n\n")
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
