"""Streaming results of ``run_api``: plain-text generators and ``SSEStream``.

``streaming_generator`` / ``async_streaming_generator`` (running a Haystack pipeline and yielding its
streaming chunks) live here too.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from haystack.dataclasses import StreamingChunk


def chunk_text(item: Any) -> str:
    """The text a streamed item contributes: strings as is, ``StreamingChunk.content``, JSON for the rest."""
    if isinstance(item, str):
        return item
    if isinstance(item, StreamingChunk):
        return item.content or ""
    if isinstance(item, bytes):
        return item.decode("utf-8", errors="replace")
    if item is None:
        return ""
    try:
        return json.dumps(item, default=str)
    except (TypeError, ValueError):
        return str(item)


@dataclass
class SSEStream:
    """Return ``SSEStream(generator)`` from ``run_api`` to stream Server-Sent Events instead of plain text.

    Each item becomes one ``data:`` event: strings as they are, ``StreamingChunk`` by its content, dicts and
    other values as JSON.
    """

    stream: Iterable[Any] | AsyncIterable[Any]

    def __iter__(self) -> Iterator[Any]:
        if not isinstance(self.stream, Iterable):
            raise TypeError("This SSEStream wraps an async generator; iterate it with 'async for'.")
        return iter(self.stream)

    def __aiter__(self) -> AsyncIterator[Any]:
        if isinstance(self.stream, AsyncIterable):
            return aiter(self.stream)
        raise TypeError("This SSEStream wraps a sync generator; iterate it with 'for'.")


def sse_event(item: Any) -> str:
    text = chunk_text(item)
    return "".join(f"data: {line}\n" for line in text.split("\n")) + "\n"
