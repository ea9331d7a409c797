"""Turns what ``run_api`` returns (or raises) into an MCP ``CallToolResult``.

Strings are sent as they are; dicts, lists, pydantic models and other values as JSON text (dicts and models
also as ``structuredContent``). Streaming results are drained and sent as one text, since a tool result is a
single message.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterable, Iterable
from typing import Any

import pydantic_core
from mcp import types
from starlette.responses import Response, StreamingResponse

from hayhooks import executor
from hayhooks.streaming import SSEStream, chunk_text


def text_result(text: str, structured: dict[str, Any] | None = None) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structuredContent=structured)


def error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], isError=True)


def _fallback(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return str(value)


def to_jsonable(value: Any) -> Any:
    return pydantic_core.to_jsonable_python(value, fallback=_fallback)


def _drain_sync(stream: Iterable[Any]) -> str:
    return "".join(chunk_text(item) for item in stream)


async def _drain(stream: Any) -> str:
    if isinstance(stream, AsyncIterable):
        return "".join([chunk_text(item) async for item in stream])
    # Sync generators usually block on a pipeline running elsewhere: never iterate them on the event loop.
    return await executor.run(_drain_sync, stream)


def _is_stream(value: Any) -> bool:
    return inspect.isgenerator(value) or inspect.isasyncgen(value)


async def render(result: Any) -> types.CallToolResult:
    """The successful tool result for a ``run_api`` return value."""
    if isinstance(result, str):
        return text_result(result)
    if isinstance(result, bytes):
        return text_result(result.decode("utf-8", errors="replace"))
    if isinstance(result, SSEStream):
        return text_result(await _drain(result.stream))
    if _is_stream(result):
        return text_result(await _drain(result))
    if isinstance(result, StreamingResponse):
        return text_result(await _drain(result.body_iterator))
    if isinstance(result, Response):
        return text_result(bytes(result.body).decode("utf-8", errors="replace"))
    jsonable = to_jsonable(result)
    text = json.dumps(jsonable, ensure_ascii=False)
    return text_result(text, jsonable if isinstance(jsonable, dict) else None)
