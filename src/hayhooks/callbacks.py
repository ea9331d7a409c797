"""Ready-made callbacks for ``streaming_generator`` / ``async_streaming_generator``.

Events they return (``PipelineEvent``, see ``hayhooks.events``) are sent in a chat completion stream as
``data: {"event": {"type": ..., "data": ...}}`` frames, which Open WebUI renders (status lines, notifications).
Plain strings returned by callbacks are streamed as assistant text.
"""

from __future__ import annotations

import json
from typing import Any

from hayhooks.events import PipelineEvent, create_notification_event, create_status_event
from hayhooks.open_webui import create_details_tag


def default_on_tool_call_start(
    tool_name: str, arguments: dict[str, Any] | None, tool_call_id: str | None
) -> PipelineEvent | None:
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
    body = f"```\nArguments:\n{arguments}\n\nResponse:\n{result}\n```"
    return [
        create_status_event(f"Called '{tool_name}' tool", done=True),
        create_details_tag(tool_name, f"Tool call result for '{tool_name}'", body),
    ]


def default_on_pipeline_end(result: Any) -> str:
    """The pipeline result as text, as Hayhooks 2.1.0 writes it.

    ``None`` is empty, a string is itself; dicts, lists, tuples and Haystack objects (anything with
    ``to_dict()``, e.g. ``ChatMessage``, ``Document``) become JSON; anything else, or a structure holding a value
    JSON cannot represent, is ``str(result)``.
    """
    if result is None:
        return ""
    if isinstance(result, str):
        return result
    if isinstance(result, (dict, list, tuple)) or callable(getattr(result, "to_dict", None)):
        try:
            return json.dumps(_plain(result))
        except (TypeError, ValueError):
            return str(result)
    return str(result)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        return _plain(to_dict())
    return value


__all__ = [
    "PipelineEvent",
    "create_details_tag",
    "create_notification_event",
    "create_status_event",
    "default_on_pipeline_end",
    "default_on_tool_call_end",
    "default_on_tool_call_start",
]
