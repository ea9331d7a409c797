"""UI events a pipeline streams next to its answer: ``PipelineEvent`` and the status/notification helpers.

An event is a pydantic model ``{"type": ..., "data": ...}``. In a chat completion stream the server sends it as
a ``data: {"event": {"type": ..., "data": ...}}`` frame, which Open WebUI renders (status lines, toasts).
Front-end specific events live in ``hayhooks.open_webui`` and ``hayhooks.chainlit_events``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

NotificationType = Literal["info", "success", "warning", "error"]


class _ReadableByKey(BaseModel):
    """Event data also readable as ``data["done"]``, like the dicts older wrappers built."""

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None


class StatusEventData(_ReadableByKey):
    """A progress line: ``description``; ``done`` ends the spinner; ``hidden`` removes the line."""

    description: str
    done: bool = False
    hidden: bool = False


class NotificationEventData(_ReadableByKey):
    """A toast notification of the given level."""

    type: NotificationType = "info"
    content: str


class PipelineEvent(BaseModel):
    """An event streamed to the client. ``PipelineEvent("status", {...})`` (positional) also works."""

    type: str
    data: StatusEventData | NotificationEventData | dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        for name, value in zip(("type", "data"), args, strict=False):
            kwargs.setdefault(name, value)
        kwargs.setdefault("data", {})
        super().__init__(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """``{"type": ..., "data": {...}}`` with plain values."""
        return self.model_dump()

    def to_event_dict(self) -> dict[str, Any]:
        """What goes in the stream's ``event`` field (the same as ``to_dict()``)."""
        return self.to_dict()


def create_status_event(description: str, done: bool = False, hidden: bool = False) -> PipelineEvent:
    """A progress line shown above the answer."""
    return PipelineEvent(type="status", data=StatusEventData(description=description, done=done, hidden=hidden))


def create_notification_event(content: str, notification_type: NotificationType = "info") -> PipelineEvent:
    """A toast notification."""
    return PipelineEvent(type="notification", data=NotificationEventData(type=notification_type, content=content))


__all__ = [
    "NotificationEventData",
    "NotificationType",
    "PipelineEvent",
    "StatusEventData",
    "create_notification_event",
    "create_status_event",
]
