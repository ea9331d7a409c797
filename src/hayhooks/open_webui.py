"""Events Open WebUI understands, for wrappers that stream to it.

``create_status_event`` and ``create_notification_event`` are the generic ones from ``hayhooks.events``; the
others (message, replace, source, chat completion) are Open WebUI specific. ``create_details_tag`` returns
markdown text (a collapsible block) to stream as part of the answer.
"""

from __future__ import annotations

from typing import Any

from hayhooks.events import (
    NotificationEventData,
    PipelineEvent,
    StatusEventData,
    _ReadableByKey,
    create_notification_event,
    create_status_event,
)


class MessageEventData(_ReadableByKey):
    """Text appended to (``message``) or replacing (``replace``) the answer shown so far."""

    content: str


class OpenWebUIEvent(PipelineEvent):
    """A ``PipelineEvent`` whose data may also be a ``MessageEventData``."""

    data: StatusEventData | MessageEventData | NotificationEventData | dict[str, Any]


def create_message_event(content: str) -> OpenWebUIEvent:
    """Append ``content`` to the answer."""
    return OpenWebUIEvent(type="message", data=MessageEventData(content=content))


def create_replace_event(content: str) -> OpenWebUIEvent:
    """Replace the whole answer shown so far with ``content``."""
    return OpenWebUIEvent(type="replace", data=MessageEventData(content=content))


def create_source_event(source_data: dict[str, Any]) -> OpenWebUIEvent:
    """A citation / source reference (``source_data`` is passed to Open WebUI as is)."""
    return OpenWebUIEvent(type="source", data=source_data)


def create_chat_completion_event(data: dict[str, Any]) -> OpenWebUIEvent:
    """A raw ``chat:completion`` event (``data`` is passed to Open WebUI as is)."""
    return OpenWebUIEvent(type="chat:completion", data=data)


def create_details_tag(tool_name: str, summary: str, content: str) -> str:
    """A collapsible ``<details>`` block that Open WebUI renders; stream it as answer text."""
    return f'<details type="{tool_name}" done="true">\n<summary>{summary}</summary>\n\n{content}\n</details>\n\n'


__all__ = [
    "MessageEventData",
    "NotificationEventData",
    "OpenWebUIEvent",
    "PipelineEvent",
    "StatusEventData",
    "create_chat_completion_event",
    "create_details_tag",
    "create_message_event",
    "create_notification_event",
    "create_replace_event",
    "create_source_event",
    "create_status_event",
]
