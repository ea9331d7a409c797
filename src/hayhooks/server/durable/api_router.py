"""Durable routes, one set for every durable pipeline (looked up in the registry on each request)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hayhooks.durable import (
    CapacityError,
    DurableSpec,
    IdempotencyConflictError,
    InvalidTransitionError,
    PayloadTooLargeError,
    StoreUnavailableError,
)
from hayhooks.durable.models import ExecutionRecord, parse_cursor, project, summarize
from hayhooks.server.durable.protocol import BodyError, read_json, validate_body
from hayhooks.server.durable.serving import get_engine, is_admin, owner_for, spec_of, stream_execution, visible
from hayhooks.server.routing import fast_endpoint
from hayhooks.server.sse import StreamResponse
from hayhooks.server.sse_producers import from_frames
from hayhooks.server.state import get_state

logger = logging.getLogger("hayhooks.durable")
router = APIRouter(tags=["durable executions"])

NOT_FOUND = "Execution not found"


def _error(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _unavailable(exc: Exception) -> JSONResponse:
    logger.warning("Durable store unavailable: %s", exc)
    return _error(503, f"The durable execution store is unavailable: {exc}", {"Retry-After": "1"})


async def _pipeline(request: Request, name: str) -> DurableSpec | JSONResponse:
    state = get_state(request)
    await state.wait_ready()
    if await state.lookup(name) is None:
        return _error(404, f"Pipeline '{name}' not found.")
    spec = spec_of(state, name)
    if spec is None:
        return _error(404, f"Pipeline '{name}' has no durable execution (run_durable / run_durable_async).")
    return spec


async def _execution(
    request: Request, name: str, execution_id: str
) -> tuple[DurableSpec, ExecutionRecord] | JSONResponse:
    spec = await _pipeline(request, name)
    if isinstance(spec, JSONResponse):
        return spec
    try:
        record = await get_engine(request).get(execution_id)
    except StoreUnavailableError as exc:
        return _unavailable(exc)
    if record is None or record.pipeline != name or not visible(record, request, spec):
        return _error(404, NOT_FOUND)
    return spec, record


def _prefix(request: Request) -> str:
    return request.scope.get("root_path", "")


async def _run_durable(name: str, request: Request) -> JSONResponse:
    spec = await _pipeline(request, name)
    if isinstance(spec, JSONResponse):
        return spec
    try:
        body = validate_body(spec.request_model, await read_json(request))
    except BodyError as exc:
        return _error(422, exc.errors)
    key = request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= 255):
        return _error(422, "Idempotency-Key must be 1 to 255 characters")
    try:
        record, created = await get_engine(request).submit(name, spec, body, owner_for(request, spec), key)
    except IdempotencyConflictError as exc:
        return _error(409, str(exc))
    except PayloadTooLargeError as exc:
        return _error(413, str(exc))
    except CapacityError as exc:
        return _error(429, str(exc), {"Retry-After": "1"})
    except StoreUnavailableError as exc:
        return _unavailable(exc)
    prefix = _prefix(request)
    headers = {"Location": f"{prefix}/{name}/executions/{record.execution_id}"}
    if not created:
        headers["Idempotent-Replay"] = "true"
    return JSONResponse(project(record, prefix), status_code=202 if created else 200, headers=headers)


_NAME_PARAMETER = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_RUN_DURABLE_DOCS = {  # the endpoint reads the request itself (a fast endpoint): its inputs documented here
    "parameters": [
        _NAME_PARAMETER,
        {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"}},
    ],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "description": "The wrapper's request model"}}},
    },
}


@router.post(
    "/{name}/run-durable", status_code=202, summary="Start a durable execution", openapi_extra=_RUN_DURABLE_DOCS
)
@fast_endpoint
async def run_durable(request: Request) -> JSONResponse:
    """Submit the JSON body as a durable execution of pipeline ``name``: ``202`` with ``Location``, or ``200`` with
    ``Idempotent-Replay: true`` for an ``Idempotency-Key`` seen before with the same body."""
    return await _run_durable(request.path_params["name"], request)


@router.get("/{name}/executions", summary="List durable executions (admin key when API keys are configured)")
async def list_executions(name: str, request: Request, limit: int = 50, cursor: str | None = None) -> JSONResponse:
    spec = await _pipeline(request, name)
    if isinstance(spec, JSONResponse):
        return spec
    if not is_admin():
        return _error(403, "Listing executions needs an admin API key.")
    if not 1 <= limit <= 500:
        return _error(422, [{"type": "value_error", "loc": ["query", "limit"], "msg": "limit must be 1 to 500"}])
    try:
        records, next_cursor = await get_engine(request).list(name, None, limit, cursor)
    except StoreUnavailableError as exc:
        return _unavailable(exc)
    page = {
        "executions": [summarize(r) for r in records],
        "next_cursor": next_cursor,
        "has_more": next_cursor is not None,
        "skipped_controls": 0,
    }
    return JSONResponse(page)


@router.get("/{name}/executions/{execution_id}", summary="One durable execution")
async def get_execution(name: str, execution_id: str, request: Request) -> JSONResponse:
    found = await _execution(request, name, execution_id)
    if isinstance(found, JSONResponse):
        return found
    return JSONResponse(project(found[1], _prefix(request)))


@router.post("/{name}/executions/{execution_id}/cancel", summary="Cancel a durable execution")
async def cancel_execution(name: str, execution_id: str, request: Request) -> JSONResponse:
    found = await _execution(request, name, execution_id)
    if isinstance(found, JSONResponse):
        return found
    try:
        body = await read_json(request, allow_empty=True)
    except BodyError as exc:
        return _error(422, exc.errors)
    reason = body.get("reason") if isinstance(body, dict) else None
    was_terminal = found[1].terminal
    try:
        record = await get_engine(request).cancel(execution_id, str(reason) if reason is not None else None)
    except StoreUnavailableError as exc:
        return _unavailable(exc)
    return JSONResponse(project(record, _prefix(request)), status_code=200 if was_terminal else 202)


@router.post("/{name}/executions/{execution_id}/resume", summary="Resume a waiting durable execution")
async def resume_execution(name: str, execution_id: str, request: Request) -> JSONResponse:
    found = await _execution(request, name, execution_id)
    if isinstance(found, JSONResponse):
        return found
    spec, record = found
    try:
        body = await read_json(request)
        value = validate_body(spec.resume_model, body) if spec.resume_model is not None else body
    except BodyError as exc:
        return _error(422, exc.errors)
    try:
        record = await get_engine(request).resume(execution_id, value)
    except InvalidTransitionError as exc:
        return _error(409, str(exc))
    except PayloadTooLargeError as exc:
        return _error(413, str(exc))
    except StoreUnavailableError as exc:
        return _unavailable(exc)
    return JSONResponse(project(record, _prefix(request)), status_code=202)


@router.get("/{name}/executions/{execution_id}/stream", summary="Stream a durable execution (SSE)")
async def stream(name: str, execution_id: str, request: Request) -> Any:
    found = await _execution(request, name, execution_id)
    if isinstance(found, JSONResponse):
        return found
    last_event_id = request.headers.get("last-event-id")
    cursor = None
    if last_event_id:
        try:
            cursor = parse_cursor(last_event_id)
        except ValueError as exc:
            return _error(422, str(exc))
    frames = stream_execution(get_engine(request), found[1], cursor, _prefix(request))
    return StreamResponse(from_frames(frames), media_type="text/event-stream; charset=utf-8")
