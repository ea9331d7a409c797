"""OpenAI-compatible API logic: find the pipeline, call its wrapper method, shape the answer.

``run_*_async`` is preferred; a sync ``run_*`` runs on a worker thread. A wrapper returns a string (or a
``ChatMessage``), a sync generator or an async generator. Streaming requests get SSE whatever the wrapper returned;
other requests get one JSON object, generators being collected first.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from hayhooks.registry import DeployedPipeline
from hayhooks.server.errors import error_detail
from hayhooks.server.limits import RunLimitError, run_limited, run_slot
from hayhooks.server.openai.chat_frames import ChatCollector, ChatStreamEncoder
from hayhooks.server.openai.items import ItemVisitor
from hayhooks.server.openai.protocol import (
    OWNER,
    ChatCompletionRequest,
    FileObject,
    ResponsesRequest,
    error_response,
    new_id,
    now,
)
from hayhooks.server.openai.responses_frames import ResponsesEncoder
from hayhooks.server.openai.sse import (
    FrameSink,
    Producer,
    SSEResponse,
    StreamEncoder,
    already_started,
    call_then_stream,
    from_async,
    from_sync,
    from_values,
)
from hayhooks.server.state import ServerState
from hayhooks.streaming import bind_streaming_defaults

logger = logging.getLogger("hayhooks.openai")


@dataclass(frozen=True)
class Dispatch:
    sync_method: str
    async_method: str
    api_name: str


CHAT = Dispatch("run_chat_completion", "run_chat_completion_async", "chat completions")
RESPONSES = Dispatch("run_response", "run_response_async", "the Responses API")


class OpenAIError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code

    def response(self) -> JSONResponse:
        return error_response(self.message, self.status, self.code)


def limit_error_response(exc: RunLimitError) -> JSONResponse:
    """503 (busy) / 504 (timeout) from the pipeline's run limits, in OpenAI's error shape."""
    code = "pipeline_busy" if exc.status_code == 503 else "pipeline_timeout"
    response = error_response(exc.detail, exc.status_code, code)
    response.headers.update(exc.headers)
    return response


def unknown_model(model: str) -> OpenAIError:
    message = f"The model '{model}' does not exist: no pipeline with that name is deployed."
    return OpenAIError(404, message, "model_not_found")


# --- calling the wrapper ------------------------------------------------------------------------------------------
async def find_pipeline(state: ServerState, model: str, dispatch: Dispatch) -> DeployedPipeline:
    pipeline = await state.lookup(model)
    if pipeline is None:
        raise unknown_model(model)
    if not pipeline.methods & {dispatch.sync_method, dispatch.async_method}:
        message = (
            f"Pipeline '{model}' does not support {dispatch.api_name}: its wrapper implements neither "
            f"{dispatch.sync_method} nor {dispatch.async_method}."
        )
        raise OpenAIError(501, message, "not_implemented")
    return pipeline


def _failure(state: ServerState, pipeline: DeployedPipeline, exc: Exception) -> Exception:
    if isinstance(exc, (OpenAIError, RunLimitError)):
        return exc
    if isinstance(exc, HTTPException):
        return OpenAIError(exc.status_code, str(exc.detail), "pipeline_error")
    logger.error("Pipeline '%s' failed", pipeline.name, exc_info=exc)
    detail = error_detail(exc, state.settings.show_tracebacks)
    return OpenAIError(500, f"Pipeline '{pipeline.name}' failed: {detail}", "pipeline_error")


def _bind_streaming_defaults(state: ServerState, pipeline: DeployedPipeline) -> None:
    components = pipeline.streaming_components
    bind_streaming_defaults(components if components is not None else state.settings.streaming_components)


async def _call(pipeline: DeployedPipeline, dispatch: Dispatch, kwargs: dict[str, Any]) -> Any:
    """The wrapper's async method if it has one, else its sync method on a worker thread."""
    wrapper = pipeline.wrapper
    if dispatch.async_method in pipeline.methods:
        return await getattr(wrapper, dispatch.async_method)(**kwargs)
    return await to_thread.run_sync(functools.partial(getattr(wrapper, dispatch.sync_method), **kwargs))


async def run_collected(
    state: ServerState, pipeline: DeployedPipeline, dispatch: Dispatch, kwargs: dict[str, Any], visitor: ItemVisitor
) -> None:
    """Call the wrapper and feed its whole answer to ``visitor``, within the pipeline's run limits."""
    _bind_streaming_defaults(state, pipeline)

    async def run_and_collect() -> None:
        await collect(await _call(pipeline, dispatch, kwargs), visitor)

    try:
        await run_limited(pipeline, state.settings, run_and_collect)
    except Exception as exc:
        raise _failure(state, pipeline, exc) from exc


async def run_streamed(
    state: ServerState,
    pipeline: DeployedPipeline,
    dispatch: Dispatch,
    kwargs: dict[str, Any],
    encoder: StreamEncoder,
    opening: str = "",
) -> SSEResponse:
    """Call the wrapper and stream its answer; the pipeline's run slot is held until the stream ends.

    A sync method runs on a stream thread that goes on to iterate the generator it returns.
    """
    _bind_streaming_defaults(state, pipeline)
    slot = run_slot(pipeline, state.settings)
    await slot.__aenter__()
    sink = FrameSink(asyncio.get_running_loop())
    try:
        if dispatch.async_method in pipeline.methods:
            producer = producer_for(await getattr(pipeline.wrapper, dispatch.async_method)(**kwargs), encoder)
        else:
            call = functools.partial(getattr(pipeline.wrapper, dispatch.sync_method), **kwargs)
            streaming, result = await call_then_stream(call, encoder, sink, _is_sync_stream)
            producer = already_started if streaming else producer_for(result, encoder)
    except BaseException as exc:
        await slot.__aexit__(None, None, None)
        if isinstance(exc, Exception):
            raise _failure(state, pipeline, exc) from exc
        raise

    async def release() -> None:
        await slot.__aexit__(None, None, None)

    return SSEResponse(producer, sink=sink, opening=opening, on_close=release)


# --- shaping the result ---------------------------------------------------------------------------------------------
def _is_async_stream(result: Any) -> bool:
    return hasattr(result, "__aiter__")


def _is_sync_stream(result: Any) -> bool:
    return isinstance(result, Iterator) and not isinstance(result, (str, bytes, dict))


def _values(result: Any) -> list[Any]:
    return list(result) if isinstance(result, (list, tuple)) else [result]


def producer_for(result: Any, encoder: StreamEncoder) -> Producer:
    if _is_async_stream(result):
        return from_async(result, encoder)
    if _is_sync_stream(result):
        return from_sync(result, encoder)
    return from_values(_values(result), encoder)


def _collect_sync(items: Iterator[Any], visitor: ItemVisitor) -> None:
    try:
        for item in items:
            visitor.feed(item)
    finally:
        close = getattr(items, "close", None)
        if callable(close):
            close()


async def collect(result: Any, visitor: ItemVisitor) -> None:
    """Feed a whole answer to ``visitor`` (generators are run to the end)."""
    if _is_async_stream(result):
        async for item in result:
            visitor.feed(item)
    elif _is_sync_stream(result):
        await to_thread.run_sync(_collect_sync, result, visitor)
    else:
        for value in _values(result):
            visitor.feed(value)


# --- endpoints' logic -----------------------------------------------------------------------------------------------
async def chat_completion(state: ServerState, request: ChatCompletionRequest) -> Response:
    pipeline = await find_pipeline(state, request.model, CHAT)
    kwargs = {"model": request.model, "messages": request.messages, "body": request.model_dump()}
    completion_id, created = new_id("chatcmpl"), now()
    if request.stream:
        encoder = ChatStreamEncoder(completion_id, request.model, created, request.include_usage)
        return await run_streamed(state, pipeline, CHAT, kwargs, encoder)
    collector = ChatCollector()
    await run_collected(state, pipeline, CHAT, kwargs, collector)
    return JSONResponse(collector.completion(completion_id, request.model, created))


async def create_response(state: ServerState, request: ResponsesRequest) -> Response:
    pipeline = await find_pipeline(state, request.model, RESPONSES)
    if (request.model_extra or {}).get("background"):  # runs as a durable execution
        from hayhooks.server.durable.openai_background import submit

        return await submit(state, pipeline, request)
    body = request.model_dump()
    kwargs = {"model": request.model, "input_items": request.input_items(), "body": body}
    encoder = ResponsesEncoder(new_id("resp"), request.model, now(), body)
    if request.stream:
        return await run_streamed(state, pipeline, RESPONSES, kwargs, encoder, opening=encoder.start())
    await run_collected(state, pipeline, RESPONSES, kwargs, encoder)
    return JSONResponse(encoder.completed())


def _model(pipeline: DeployedPipeline) -> dict[str, Any]:
    name = pipeline.name
    return {"id": name, "object": "model", "created": int(pipeline.deployed_at), "owned_by": OWNER, "name": name}


def list_models(state: ServerState) -> dict[str, Any]:
    return {"object": "list", "data": [_model(pipeline) for pipeline in state.registry.all()]}


async def get_model(state: ServerState, model: str) -> dict[str, Any]:
    pipeline = await state.lookup(model)
    if pipeline is None:
        raise unknown_model(model)
    return _model(pipeline)


# --- files ----------------------------------------------------------------------------------------------------------
def _file_object(result: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    if hasattr(result, "model_dump"):
        result = result.model_dump()
    elif not isinstance(result, dict) and callable(getattr(result, "to_dict", None)):
        result = result.to_dict()
    if not isinstance(result, dict):
        kind = type(result).__name__
        raise OpenAIError(500, f"run_file_upload returned {kind}; return a dict (an OpenAI file object).")
    return FileObject.model_validate({**defaults, **result}).model_dump(exclude_none=True)


async def upload_file(
    state: ServerState, filename: str | None, content_type: str | None, content: bytes, purpose: str
) -> dict[str, Any]:
    """Hand the file to the first pipeline implementing ``run_file_upload``; else describe it and warn."""
    defaults = {
        "id": new_id("file"),
        "object": "file",
        "bytes": len(content),
        "created_at": now(),
        "filename": filename or "",
        "purpose": purpose,
    }
    for pipeline in state.registry.all():
        if "run_file_upload" not in pipeline.methods:
            continue
        method = pipeline.wrapper.run_file_upload
        try:
            if inspect.iscoroutinefunction(method):
                result = await method(filename, content_type, content, purpose)
            else:
                result = await to_thread.run_sync(method, filename, content_type, content, purpose)
        except Exception as exc:
            raise _failure(state, pipeline, exc) from exc
        return _file_object(result, defaults)
    logger.warning(
        "No deployed pipeline implements run_file_upload: file '%s' (%s, %d bytes) was not stored.",
        filename,
        defaults["id"],
        len(content),
    )
    return FileObject.model_validate(defaults).model_dump(exclude_none=True)
