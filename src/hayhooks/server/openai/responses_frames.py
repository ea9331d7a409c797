"""Responses API output: named SSE events and the ``response`` object.

A stream is ``response.created``, ``response.in_progress``, then one output item at a time (an assistant
``message`` with ``output_text`` deltas, a ``function_call`` with argument deltas, or a ``reasoning`` summary),
each opened with ``response.output_item.added`` and closed with ``.done`` events, and ``response.completed``
(``error`` + ``response.failed`` when the pipeline fails). Frames come from ``hayhooks.server.frames``; text
deltas use a per-item template built once.
"""

from __future__ import annotations

import uuid
from typing import Any

from hayhooks.server.frames import SLOT, FrameTemplate, data_frame
from hayhooks.server.openai.items import ItemVisitor, ToolDelta

ID_PREFIXES = {"message": "msg", "reasoning": "rs", "function_call": "fc"}


def responses_usage(usage: dict[str, int] | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {
        "input_tokens": usage["prompt_tokens"],
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": usage["completion_tokens"],
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage["total_tokens"],
    }


class _Item:
    """The output item being streamed: its text (or arguments) so far and the prefix of its delta frames."""

    def __init__(self, kind: str, index: int, item_id: str, tool: ToolDelta | None = None) -> None:
        self.kind, self.index = kind, index
        self.id = item_id
        self.tool_index = tool.index if tool else None
        self.call_id = (tool.id if tool else None) or f"call_{uuid.uuid4().hex[:24]}"
        self.name = (tool.name if tool else None) or ""
        self.parts: list[str] = []
        self.delta: FrameTemplate | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def where(self) -> dict[str, Any]:
        return {"item_id": self.id, "output_index": self.index}

    def as_json(self, status: str) -> dict[str, Any]:
        done = status == "completed"
        if self.kind == "message":
            content = [{"type": "output_text", "text": self.text, "annotations": []}] if done else []
            return {"id": self.id, "type": "message", "status": status, "role": "assistant", "content": content}
        if self.kind == "reasoning":
            summary = [{"type": "summary_text", "text": self.text}] if done else []
            return {"id": self.id, "type": "reasoning", "summary": summary}
        return {
            "id": self.id,
            "type": "function_call",
            "status": status,
            "call_id": self.call_id,
            "name": self.name,
            "arguments": self.text,
        }


def _delta_template(event: str, item: _Item, position: dict[str, Any]) -> FrameTemplate:
    payload = {"type": event, **item.where, **position, "delta": SLOT, "sequence_number": SLOT}
    return FrameTemplate(payload, event)


class ResponsesEncoder(ItemVisitor):
    """Builds Responses API events (streaming) and the final ``response`` object (both modes)."""

    def __init__(self, response_id: str, model: str, created: int, body: dict[str, Any]) -> None:
        super().__init__()
        self.response_id, self.model, self.created, self.body = response_id, model, created, body
        self.output: list[dict[str, Any]] = []
        self._item: _Item | None = None
        self._sequence = 0

    # --- frames ------------------------------------------------------------------------------------------------
    def _event(self, kind: str, **fields: Any) -> str:
        payload = {"type": kind, **fields, "sequence_number": self._sequence}
        self._sequence += 1
        return data_frame(payload, kind)

    def response_object(self, status: str, error: dict[str, Any] | None = None) -> dict[str, Any]:
        body, final = self.body, status != "in_progress"
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "model": self.model,
            "output": list(self.output) if final else [],
            "error": error,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "metadata": body.get("metadata") or {},
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "temperature": body.get("temperature"),
            "top_p": body.get("top_p"),
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "text": {"format": {"type": "text"}},
            "usage": responses_usage(self.usage) if final else None,
        }

    def start(self) -> str:
        response = self.response_object("in_progress")
        created = self._event("response.created", response=response)
        return created + self._event("response.in_progress", response=response)

    # --- items -------------------------------------------------------------------------------------------------
    def item_id(self, kind: str, index: int) -> str:
        """The id of the ``index``-th output item (random; a subclass may make it stable)."""
        return f"{ID_PREFIXES[kind]}_{uuid.uuid4().hex}"

    def _open(self, kind: str, tool: ToolDelta | None = None) -> str:
        frames = self._close()
        index = len(self.output)
        item = self._item = _Item(kind, index, self.item_id(kind, index), tool)
        frames += self._event("response.output_item.added", output_index=item.index, item=item.as_json("in_progress"))
        if kind == "message":
            position = {"content_index": 0, "logprobs": []}
            item.delta = _delta_template("response.output_text.delta", item, position)
            part = {"type": "output_text", "text": "", "annotations": []}
            frames += self._event("response.content_part.added", **item.where, content_index=0, part=part)
        elif kind == "reasoning":
            item.delta = _delta_template("response.reasoning_summary_text.delta", item, {"summary_index": 0})
            part = {"type": "summary_text", "text": ""}
            frames += self._event("response.reasoning_summary_part.added", **item.where, summary_index=0, part=part)
        return frames

    def _close(self) -> str:
        item, self._item = self._item, None
        if item is None:
            return ""
        text, where = item.text, item.where
        if item.kind == "message":
            part = {"type": "output_text", "text": text, "annotations": []}
            frames = self._event("response.output_text.done", **where, content_index=0, text=text, logprobs=[])
            frames += self._event("response.content_part.done", **where, content_index=0, part=part)
        elif item.kind == "reasoning":
            part = {"type": "summary_text", "text": text}
            frames = self._event("response.reasoning_summary_text.done", **where, summary_index=0, text=text)
            frames += self._event("response.reasoning_summary_part.done", **where, summary_index=0, part=part)
        else:
            frames = self._event("response.function_call_arguments.done", **where, name=item.name, arguments=text)
        done = item.as_json("completed")
        self.output.append(done)
        return frames + self._event("response.output_item.done", output_index=item.index, item=done)

    def _text(self, kind: str, text: str) -> str:
        item, frames = self._item, ""
        if item is None or item.kind != kind:
            frames = self._open(kind)
            item = self._item
        assert item is not None and item.delta is not None
        item.parts.append(text)
        sequence = self._sequence
        self._sequence += 1
        return frames + item.delta.fill_text_number(text, sequence)

    # --- ItemVisitor -------------------------------------------------------------------------------------------
    def on_text(self, text: str) -> str:
        return self._text("message", text)

    def on_reasoning(self, text: str) -> str:
        return self._text("reasoning", text)

    def on_tool_calls(self, deltas: list[ToolDelta]) -> str:
        frames = []
        for delta in deltas:
            item = self._item
            if item is None or item.kind != "function_call" or item.tool_index != delta.index:
                frames.append(self._open("function_call", delta))
                item = self._item
            assert item is not None
            if delta.name and not item.name:
                item.name = delta.name
            if delta.arguments:
                item.parts.append(delta.arguments)
                event = "response.function_call_arguments.delta"
                frames.append(self._event(event, **item.where, delta=delta.arguments))
        return "".join(frames)

    # --- end -----------------------------------------------------------------------------------------------------
    def finish(self) -> str:
        closing = self._close()
        return closing + self._event("response.completed", response=self.response_object("completed"))

    def error(self, message: str) -> str:
        frames = self._close() + self._event("error", code="server_error", message=message, param=None)
        failed = self.response_object("failed", {"code": "server_error", "message": message})
        return frames + self._event("response.failed", response=failed)

    def completed(self) -> dict[str, Any]:
        """The ``response`` object of a non-streaming request (after every item was fed)."""
        self._close()
        return self.response_object("completed")
