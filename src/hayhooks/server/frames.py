"""Server-Sent Event frames, built from data by one JSON encoder.

Every stream the server sends (``/run`` streams, chat completion chunks, Responses events) is made of frames
built here. A frame's JSON always comes from ``encode_json``; a hot frame whose shape repeats (a text delta)
is a ``FrameTemplate``: the payload is encoded once per stream with placeholders, and each chunk only encodes
the values that change (the delta's text through the C string encoder), which keeps a chunk at about a
microsecond of CPU instead of a full ``json.dumps`` of the payload.
"""

from __future__ import annotations

import json
from typing import Any

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
encode_json = _ENCODER.encode  # the one JSON encoder of every frame (strings take the C fast path)
_encode_string = json.encoder.encode_basestring  # type: ignore[attr-defined]  # what encode_json does for a str

DONE_FRAME = "data: [DONE]\n\n"
_SLOT_VALUE = "\x00hayhooks-slot\x00"
_SLOT_JSON = encode_json(_SLOT_VALUE)


class Slot:
    """A placeholder in a ``FrameTemplate`` payload: filled per frame."""


SLOT = Slot()


def _with_markers(value: Any) -> Any:
    if value is SLOT:
        return _SLOT_VALUE
    if isinstance(value, dict):
        return {key: _with_markers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_markers(item) for item in value]
    return value


def _head(event: str | None) -> str:
    return f"event: {event}\ndata: " if event else "data: "


def data_frame(payload: Any, event: str | None = None, event_id: str | None = None) -> str:
    """One frame whose ``data`` is ``payload`` as JSON (with an ``event:`` line when ``event`` is given, and an
    ``id:`` line, which a client resends as ``Last-Event-ID`` to resume, when ``event_id`` is)."""
    head = _head(event)
    if event_id is not None:
        head = f"id: {event_id}\n" + head
    return head + encode_json(payload) + "\n\n"


HEARTBEAT = ": heartbeat\n\n"  # an SSE comment: sent at once, so the client sees the stream open


def text_frame(text: str) -> str:
    """One frame carrying plain text: a ``data:`` line per line of ``text``."""
    if "\n" not in text:
        return "data: " + text + "\n\n"
    return "".join(["data: " + line + "\n" for line in text.split("\n")]) + "\n"


class FrameTemplate:
    """A frame whose payload is fixed except at its ``SLOT`` places, filled in order by ``fill``.

    ``fill_text`` (one slot) and ``fill_text_number`` (two) are the hot paths of text deltas: they call the C
    string encoder that ``encode_json`` itself uses for strings, without its Python-level dispatch (measured
    about ten times faster than ``fill``: the chat encoder then costs what the hand-built frames did).
    """

    __slots__ = ("_parts", "_head", "_middle", "_tail")

    def __init__(self, payload: Any, event: str | None = None) -> None:
        parts = data_frame(_with_markers(payload), event).split(_SLOT_JSON)
        if len(parts) < 2:
            raise ValueError("A frame template needs at least one SLOT")
        self._parts = parts
        self._head, self._tail = parts[0], parts[-1]
        self._middle = parts[1] if len(parts) == 3 else ""

    def fill(self, *values: Any) -> str:
        parts = self._parts
        if len(values) != len(parts) - 1:
            raise ValueError(f"This template has {len(parts) - 1} slot(s), got {len(values)} value(s)")
        pieces = [parts[0]]
        for value, part in zip(values, parts[1:], strict=True):
            pieces.append(encode_json(value))
            pieces.append(part)
        return "".join(pieces)

    def fill_text(self, text: str) -> str:
        """``fill(text)`` for a one-slot template and a ``str``."""
        return self._head + _encode_string(text) + self._tail

    def fill_text_number(self, text: str, number: int) -> str:
        """``fill(text, number)`` for a two-slot template, a ``str`` and an ``int``."""
        return self._head + _encode_string(text) + self._middle + str(number) + self._tail


__all__ = ["DONE_FRAME", "SLOT", "FrameTemplate", "data_frame", "encode_json", "text_frame"]
