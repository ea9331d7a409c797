"""Runs a deployed pipeline's ``run_api`` / ``run_api_async`` and turns its return value into a response."""

from __future__ import annotations

import inspect
import logging
from typing import Any

from starlette.responses import JSONResponse, Response

from hayhooks.context import current_headers
from hayhooks.registry import DeployedPipeline
from hayhooks.server.errors import error_detail
from hayhooks.server.frames import data_frame, text_frame
from hayhooks.server.limits import run_limited
from hayhooks.server.run.protocol import encode_result
from hayhooks.server.sse import StreamResponse
from hayhooks.server.sse_producers import from_async, from_sync
from hayhooks.settings import Settings
from hayhooks.signature import HEADERS_PARAM
from hayhooks.streaming import SSEStream, bind_streaming_defaults, chunk_text

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


class JSONBytesResponse(Response):
    """Already-encoded JSON; its two headers are built directly (Starlette's generic header logic is skipped)."""

    media_type = "application/json"

    def __init__(self, body: bytes, status_code: int = 200) -> None:
        self.status_code = status_code
        self.body = body
        self.background = None
        self.raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]


class RunStreamEncoder:
    """A ``run_api`` stream's items as SSE ``data:`` events, or as plain text.

    A failure midway is an ``event: error`` whose data is ``{"detail": ...}`` (SSE); plain text has no error form.
    """

    def __init__(self, pipeline_name: str, sse: bool) -> None:
        self._name = pipeline_name
        self._sse = sse

    def feed(self, item: Any) -> str:
        if callable(getattr(item, "to_event_dict", None)):  # UI events belong to the chat endpoints (as in 2.1.0)
            logger.warning("A UI event was streamed from run_api; skipped (UI events go to the chat endpoints).")
            return ""
        text = chunk_text(item)
        if self._sse:
            return text_frame(text)
        return text

    def finish(self) -> str:
        return ""

    def error(self, message: str) -> str:
        if not self._sse:
            return ""
        return data_frame({"detail": f"Pipeline '{self._name}' failed: {message}"}, "error")


def _stream_response(stream: Any, pipeline: DeployedPipeline, settings: Settings | None, sse: bool) -> Response:
    encoder = RunStreamEncoder(pipeline.name, sse)
    is_async = inspect.isasyncgen(stream) or hasattr(stream, "__aiter__")
    producer = from_async(stream, encoder) if is_async else from_sync(stream, encoder)
    show_tracebacks = settings.show_tracebacks if settings is not None else False

    def on_error(exc: BaseException) -> Response:
        detail = f"Pipeline '{pipeline.name}' failed: {error_detail(exc, show_tracebacks)}"
        return JSONResponse({"detail": detail}, status_code=500)

    media_type = "text/event-stream" if sse else "text/plain"
    return StreamResponse(producer, media_type=media_type, on_error=on_error)


def build_response(result: Any, pipeline: DeployedPipeline, settings: Settings | None = None) -> Response:
    """The HTTP answer for ``run_api``'s return value: a response as is, a stream (SSE for ``SSEStream``, plain
    text for a generator), or JSON."""
    if isinstance(result, Response):
        return result
    if isinstance(result, SSEStream):
        return _stream_response(result.stream, pipeline, settings, sse=True)
    if inspect.isgenerator(result) or inspect.isasyncgen(result):
        return _stream_response(result, pipeline, settings, sse=False)
    return JSONBytesResponse(encode_result(result))
