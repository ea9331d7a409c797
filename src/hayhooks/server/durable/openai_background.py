"""OpenAI background responses: ``POST /v1/responses`` with ``background: true`` runs as a durable execution.

- the wrapper's ``run_response(_async)`` runs on a durable worker; every text, reasoning and tool-call delta
  it produces is appended to the execution's stream log, and the whole answer is the execution's result;
- ``GET /v1/responses/{id}`` answers the ``response`` object (``queued``, ``in_progress``, ``completed``,
  ``failed``, ``cancelled``); ``POST /v1/responses/{id}/cancel`` cancels it;
- ``GET /v1/responses/{id}?stream=true&starting_after=N`` replays the Responses API events from the log
  (same events and sequence numbers on every replay), then follows the execution live.

The response id is ``resp_`` + the execution id. The execution records the pipeline version it started on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from hayhooks.durable import (
    CapacityError,
    DurableContext,
    DurableExecutionCancelledError,
    DurableSpec,
    PayloadTooLargeError,
    StoreUnavailableError,
)
from hayhooks.durable.models import ExecutionRecord
from hayhooks.registry import DeployedPipeline
from hayhooks.server.durable.serving import BACKGROUND_METHODS, caller_key, get_engine, register_spec_kind, visible
from hayhooks.server.openai.items import ItemVisitor, ToolDelta
from hayhooks.server.openai.protocol import ResponsesRequest
from hayhooks.server.openai.responses_frames import ID_PREFIXES, ResponsesEncoder
from hayhooks.server.sse import StreamResponse
from hayhooks.server.sse_producers import from_frames
from hayhooks.server.state import ServerState, get_state

KIND = "response"
ID_PREFIX = "resp_"
_STATUS = {
    "queued": "queued",
    "running": "in_progress",
    "waiting": "in_progress",
    "completed": "completed",
    "failed": "failed",
    "canceled": "cancelled",
}
router = APIRouter(tags=["openai"])


class BackgroundBody(BaseModel):
    """The Responses API request body, kept whole."""

    model_config = ConfigDict(extra="allow")


# --- running ----------------------------------------------------------------------------------------------------
class _Recorder(ItemVisitor):
    """Turns what the wrapper yields into stream-log deltas, and keeps them all for the result."""

    def __init__(self, context: DurableContext) -> None:
        super().__init__()
        self.context = context
        self.deltas: list[dict[str, Any]] = []

    def _record(self, delta: dict[str, Any]) -> str:
        if self.context.cancel_requested:
            raise DurableExecutionCancelledError("canceled")
        self.deltas.append(delta)
        self.context.stream_chunk_sync(delta)
        return ""

    def on_text(self, text: str) -> str:
        return self._record({"text": text})

    def on_reasoning(self, text: str) -> str:
        return self._record({"reasoning": text})

    def on_tool_calls(self, deltas: list[ToolDelta]) -> str:
        return self._record({"tool_calls": [asdict(delta) for delta in deltas]})


def background_spec(pipeline: DeployedPipeline) -> DurableSpec:
    """A durable spec that runs ``pipeline``'s Responses API method (cached on the deployed version)."""
    cached = pipeline.state.get("durable_response")
    if cached is not None:
        return cached
    from pydantic import TypeAdapter

    from hayhooks.server.openai import serving

    async def runner(context: DurableContext, request: BackgroundBody) -> dict[str, Any]:
        body = request.model_dump()
        parsed = ResponsesRequest.model_validate(body)
        kwargs = {"model": parsed.model, "input_items": parsed.input_items(), "body": body}
        recorder = _Recorder(context)
        await serving.collect(await serving._call(pipeline, serving.RESPONSES, kwargs), recorder)
        return {"deltas": recorder.deltas, "usage": recorder.usage}

    spec = DurableSpec(
        revision=f"response:{pipeline.version}",
        request_model=BackgroundBody,
        result_adapter=TypeAdapter(dict[str, Any]),
        resume_model=None,
        runner=runner,
        is_async=True,
        kind=KIND,
        owner_id=None,
        target=None,
        deployed_at=pipeline.deployed_at,
    )
    pipeline.state["durable_response"] = spec
    return spec


# --- the response object ------------------------------------------------------------------------------------------
class _Encoder(ResponsesEncoder):
    """``ResponsesEncoder`` with item ids derived from the response id, so every replay is identical."""

    def item_id(self, kind: str, index: int) -> str:
        return f"{ID_PREFIXES[kind]}_{self.response_id[len(ID_PREFIX) :]}_{index}"


def _feed(encoder: _Encoder, delta: dict[str, Any]) -> str:
    if "text" in delta:
        return encoder.on_text(delta["text"])
    if "reasoning" in delta:
        return encoder.on_reasoning(delta["reasoning"])
    return encoder.on_tool_calls([ToolDelta(**d) for d in delta.get("tool_calls", [])])


def _encoder(record: ExecutionRecord) -> _Encoder:
    body = record.request if isinstance(record.request, dict) else {}
    return _Encoder(ID_PREFIX + record.execution_id, record.pipeline, record.created_at // 1000, body)


def response_object(record: ExecutionRecord) -> dict[str, Any]:
    encoder = _encoder(record)
    status = _STATUS[record.status]
    error = None
    if record.status == "completed" and isinstance(record.result, dict):
        for delta in record.result.get("deltas", []):
            _feed(encoder, delta)
        encoder.usage = record.result.get("usage")
        encoder._close()
    elif record.status == "failed":
        error = {"code": "server_error", "message": (record.error or {}).get("message", "failed")}
    obj = encoder.response_object(status if status in ("completed", "failed") else "in_progress", error)
    obj["status"] = status
    obj["background"] = True
    return obj


def _error(status: int, message: str, code: str | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}}, status_code=status)


# --- HTTP -----------------------------------------------------------------------------------------------------------
async def submit(state: ServerState, pipeline: DeployedPipeline, request: ResponsesRequest) -> Any:
    """``POST /v1/responses`` with ``background: true``: queue it and answer the queued response object."""
    spec = background_spec(pipeline)
    engine = state.durable
    try:
        record, _ = await engine.submit(pipeline.name, spec, request.model_dump(), caller_key(), None)
    except PayloadTooLargeError as exc:
        return _error(413, str(exc))
    except CapacityError as exc:
        return _error(429, str(exc), "rate_limit_exceeded")
    except StoreUnavailableError as exc:
        return _error(503, f"The durable execution store is unavailable: {exc}")
    if request.stream:
        return _sse(engine, record, None)
    return JSONResponse(response_object(record))


async def _find(request: Request, response_id: str) -> ExecutionRecord | JSONResponse:
    state = get_state(request)
    await state.wait_ready()
    engine = state.durable
    record = None
    if engine is not None and response_id.startswith(ID_PREFIX):
        try:
            record = await engine.get(response_id[len(ID_PREFIX) :])
        except StoreUnavailableError as exc:
            return _error(503, f"The durable execution store is unavailable: {exc}")
    if record is None or record.kind != KIND or not visible(record, request, None):
        return _error(404, f"No response found with id '{response_id}'.", "not_found")
    return record


async def _replay(engine: Any, record: ExecutionRecord, starting_after: int | None) -> AsyncIterator[str]:
    encoder = _encoder(record)
    after = -1 if starting_after is None else starting_after
    frames = [encoder.start()]
    cursor = None
    while True:
        chunks, _ = await engine._call(engine.store.read_chunks, record.execution_id, cursor)
        for chunk in chunks:
            frames.append(_feed(encoder, chunk.payload))
            cursor = (0, int(chunk.chunk_id.rsplit("-", 1)[1]))
        if record.terminal and not chunks:
            if record.status == "completed":
                encoder.usage = (record.result or {}).get("usage") if isinstance(record.result, dict) else None
                frames.append(encoder.finish())
            else:
                frames.append(encoder.error((record.error or {}).get("message", "canceled") or "canceled"))
        for text in frames:
            for frame in text.split("\n\n"):
                if frame and _sequence(frame) > after:
                    yield frame + "\n\n"
        frames = []
        if record.terminal and not chunks:
            return
        if not chunks:
            await asyncio.sleep(0.05)
        current = await engine.get(record.execution_id)
        if current is None:
            return
        record = current


def _sequence(frame: str) -> int:
    _, _, data = frame.partition("\ndata: ")
    try:
        return int(json.loads(data).get("sequence_number", -1))
    except ValueError:
        return -1


def _sse(engine: Any, record: ExecutionRecord, starting_after: int | None) -> StreamResponse:
    return StreamResponse(from_frames(_replay(engine, record, starting_after)))


@router.get("/v1/responses/{response_id}", summary="Retrieve a background response", response_model=None)
@router.get("/responses/{response_id}", include_in_schema=False, response_model=None)
async def retrieve(response_id: str, request: Request, stream: bool = False, starting_after: int | None = None) -> Any:
    found = await _find(request, response_id)
    if isinstance(found, JSONResponse):
        return found
    if stream:
        return _sse(get_engine(request), found, starting_after)
    return JSONResponse(response_object(found))


@router.post("/v1/responses/{response_id}/cancel", summary="Cancel a background response", response_model=None)
@router.post("/responses/{response_id}/cancel", include_in_schema=False, response_model=None)
async def cancel(response_id: str, request: Request) -> Any:
    found = await _find(request, response_id)
    if isinstance(found, JSONResponse):
        return found
    try:
        record = await get_engine(request).cancel(found.execution_id, "canceled through the Responses API")
    except StoreUnavailableError as exc:
        return _error(503, f"The durable execution store is unavailable: {exc}")
    return JSONResponse(response_object(record))


def _response_spec(pipeline: DeployedPipeline) -> DurableSpec | None:
    return background_spec(pipeline) if pipeline.methods & BACKGROUND_METHODS else None


register_spec_kind("response", _response_spec)
