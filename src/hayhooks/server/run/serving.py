"""Runs a deployed pipeline's ``run_api`` / ``run_api_async`` and turns its return value into a response."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from starlette.responses import Response, StreamingResponse

from hayhooks.context import current_headers
from hayhooks.registry import DeployedPipeline
from hayhooks.server.limits import run_limited
from hayhooks.server.run.protocol import encode_result
from hayhooks.settings import Settings
from hayhooks.signature import HEADERS_PARAM
from hayhooks.streaming import SSEStream, bind_streaming_defaults, chunk_text, sse_event

logger = logging.getLogger("hayhooks.run")


async def call_run_api(pipeline: DeployedPipeline, kwargs: dict[str, Any], settings: Settings) -> Any:
    """Await ``run_api_async`` when the wrapper has it; otherwise run ``run_api`` on a worker thread.

    The call is subject to the pipeline's run limits (``settings`` supplies the server-wide defaults); past
    them it raises ``RunLimitError`` (503 busy / 504 timeout), see ``hayhooks.server.limits``.
    """
    wrapper = pipeline.wrapper
    method = "run_api_async" if pipeline.run_is_async else "run_api"
    func = getattr(wrapper, method)
    if method in pipeline.header_methods:
        kwargs = {**kwargs, HEADERS_PARAM: current_headers()}
    own = pipeline.streaming_components  # defaults for streaming_generator: the pipeline's, else the server's
    bind_streaming_defaults(own if own is not None else settings.streaming_components)
    return await run_limited(pipeline, settings, func, **kwargs)


def _without_events(render: Callable[[Any], str]) -> Callable[[Any], str]:
    """UI events (``PipelineEvent``, ...) have no place in a ``/run`` stream: skipped (as Hayhooks 2.1.0 does),
    with a warning; they belong to the OpenAI chat endpoints."""

    def rendered(item: Any) -> str:
        if callable(getattr(item, "to_event_dict", None)):
            logger.warning("A UI event was streamed from run_api; skipped (UI events go to the chat endpoints).")
            return ""
        return render(item)

    return rendered


def _iterate(stream: Any, render) -> Iterator[str] | AsyncIterator[str]:  # type: ignore[no-untyped-def]
    render = _without_events(render)
    if inspect.isasyncgen(stream) or hasattr(stream, "__aiter__"):

        async def render_async() -> AsyncIterator[str]:
            async for item in stream:
                yield render(item)

        return render_async()

    def render_sync() -> Iterator[str]:
        for item in stream:
            yield render(item)

    return render_sync()


class JSONBytesResponse(Response):
    """Already-encoded JSON; its two headers are built directly (Starlette's generic header logic is skipped)."""

    media_type = "application/json"

    def __init__(self, body: bytes, status_code: int = 200) -> None:
        self.status_code = status_code
        self.body = body
        self.background = None
        self.raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]


def build_response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, SSEStream):
        return StreamingResponse(
            _iterate(result.stream, sse_event),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    if inspect.isgenerator(result) or inspect.isasyncgen(result):
        return StreamingResponse(_iterate(result, chunk_text), media_type="text/plain")
    return JSONBytesResponse(encode_result(result))
