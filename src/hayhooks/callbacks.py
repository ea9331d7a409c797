"""Ready-made callbacks for ``streaming_generator`` / ``async_streaming_generator``, and the UI events they emit.

Events are objects with ``to_event_dict()``; in a chat completion stream they are sent as
``data: {"event": {"type": ..., "data": ...}}`` frames, which Open WebUI renders (status lines, notifications).
Plain strings returned by callbacks are streamed as assistant text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

NotificationType = Literal["info", "success", "warning", "error"]


@dataclass
class PipelineEvent:
    """A UI event streamed next to the answer (see Open WebUI's event types: status, notification, ...)."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "data": dict(self.data)}

    def to_event_dict(self) -> dict[str, Any]:
        return self.to_dict()


def create_status_event(description: str, done: bool = False, hidden: bool = False) -> PipelineEvent:
    """A progress line shown above the answer."""
    return PipelineEvent("status", {"description": description, "done": done, "hidden": hidden})


def create_notification_event(content: str, notification_type: NotificationType = "info") -> PipelineEvent:
    """A toast notification."""
    return PipelineEvent("notification", {"type": notification_type, "content": content})


def create_details_tag(tool_name: str, summary: str, content: str) -> str:
    """A collapsible ``<details>`` block (markdown-rendered by Open WebUI) streamed as answer text."""
    return f'<details type="{tool_name}" done="true">\n<summary>{summary}</summary>\n\n{content}\n</details>\n\n'


def default_on_tool_call_start(tool_name: str, arguments: str | None, tool_call_id: str | None) -> PipelineEvent | None:
    """Show "Calling '<tool>' tool..." while a tool call is being prepared."""
    if not tool_name:
        return None
    return create_status_event(f"Calling '{tool_name}' tool...")


def default_on_tool_call_end(
    tool_name: str, arguments: dict[str, Any], result: str, error: bool
) -> list[PipelineEvent | str]:
    """Mark the tool call done and show its arguments and result, or notify the error."""
    if error:
        return [
            create_status_event(f"Called '{tool_name}' tool", done=True, hidden=True),
            create_notification_event(f"Error calling '{tool_name}' tool", "error"),
        ]
    shown_arguments = json.dumps(arguments, ensure_ascii=False, default=str)
    body = f"```\nArguments:\n{shown_arguments}\n\nResponse:\n{result}\n```"
    return [
        create_status_event(f"Called '{tool_name}' tool", done=True),
        create_details_tag(tool_name, f"Tool call result for '{tool_name}'", body),
    ]


def default_on_pipeline_end(result: Any) -> str:
    """The pipeline result as text (Haystack answers and chat messages by their text, the rest as JSON)."""
    return _as_text(result)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    text = getattr(value, "text", None)
    if isinstance(text, str):
        return text
    data = getattr(value, "data", None)
    if isinstance(data, str):
        return data
    if isinstance(value, (list, tuple)):
        return "\n".join(_as_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps({key: _jsonable(item) for key, item in value.items()}, ensure_ascii=False, default=str)
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else str(value)


__all__ = [
    "PipelineEvent",
    "create_details_tag",
    "create_notification_event",
    "create_status_event",
    "default_on_pipeline_end",
    "default_on_tool_call_end",
    "default_on_tool_call_start",
]
