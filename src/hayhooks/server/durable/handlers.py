"""What the durable routes do, once the deployment a request addresses is known.

The server's ``/{name}/...`` routes (``api_router.py``) and an embedding app's router
(``hayhooks.durable.fastapi.create_durable_router``) both build a ``DurableTarget`` and call these functions, so
both speak the same wire format: statuses, headers, error bodies and SSE frames.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hayhooks.durable.engine import DurableEngine, InvalidTransitionError
from hayhooks.durable.errors import (
    CapacityError,
    IdempotencyConflictError,
    PayloadTooLargeError,
    StoreUnavailableError,
)
from hayhooks.durable.models import ExecutionRecord, execution_path, parse_cursor, project, summarize
from hayhooks.durable.spec import DurableSpec
from hayhooks.server.durable.protocol import BodyError, read_json, validate_body
from hayhooks.server.durable.serving import stream_execution
from hayhooks.server.sse import StreamResponse
from hayhooks.server.sse_producers import from_frames

logger = logging.getLogger("hayhooks.durable")

NOT_FOUND = "Execution not found"


def _everyone(record: ExecutionRecord) -> bool:
    return True


@dataclass(frozen=True)
class DurableTarget:
    """One durable deployment as one request sees it.

    ``base`` is the path execution links hang under (``{base}/executions/{id}``); ``owner_id`` is stored with
    new executions; ``sees`` says whether the caller may see an execution (others answer 404); ``closed`` is
    why new executions are refused with 503 (an embedded deployment not started, or closed)."""

    name: str
    spec: DurableSpec
    engine: DurableEngine
    base: str
    owner_id: str | None = None
    sees: Callable[[ExecutionRecord], bool] = _everyone
    closed: str | None = None


def error(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def unavailable(exc: Exception) -> JSONResponse:
    logger.warning("Durable store unavailable: %s", exc)
    return error(503, f"The durable execution store is unavailable: {exc}", {"Retry-After": "1"})


async def find(target: DurableTarget, execution_id: str) -> ExecutionRecord | JSONResponse:
    """The execution, or the 404 (not there, another deployment's, another owner's) or 503 to answer."""
    try:
        record = await target.engine.get(execution_id)
    except StoreUnavailableError as exc:
        return unavailable(exc)
    if record is None or record.pipeline != target.name or not target.sees(record):
        return error(404, NOT_FOUND)
    return record


async def submit(target: DurableTarget, request: Request) -> JSONResponse:
    """``202`` with ``Location``, or ``200`` with ``Idempotent-Replay: true`` for an ``Idempotency-Key`` seen
    before with the same body (``409`` with a different one)."""
    if target.closed is not None:
        return error(503, target.closed, {"Retry-After": "1"})
    try:
        body = validate_body(target.spec.request_model, await read_json(request))
    except BodyError as exc:
        return error(422, exc.errors)
    key = request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= 255):
        return error(422, "Idempotency-Key must be 1 to 255 characters")
    try:
        record, created = await target.engine.submit(target.name, target.spec, body, target.owner_id, key)
    except IdempotencyConflictError as exc:
        return error(409, str(exc))
    except PayloadTooLargeError as exc:
        return error(413, str(exc))
    except CapacityError as exc:
        return error(429, str(exc), {"Retry-After": "1"})
    except StoreUnavailableError as exc:
        return unavailable(exc)
    headers = {"Location": execution_path(record, target.base)}
    if not created:
        headers["Idempotent-Replay"] = "true"
    return JSONResponse(project(record, target.base), status_code=202 if created else 200, headers=headers)


async def show(target: DurableTarget, execution_id: str) -> JSONResponse:
    found = await find(target, execution_id)
    if isinstance(found, JSONResponse):
        return found
    return JSONResponse(project(found, target.base))


async def cancel(target: DurableTarget, request: Request, execution_id: str) -> JSONResponse:
    """``202`` while the cancel takes effect, ``200`` for an execution that had already ended."""
    found = await find(target, execution_id)
    if isinstance(found, JSONResponse):
        return found
    try:
        body = await read_json(request, allow_empty=True)
    except BodyError as exc:
        return error(422, exc.errors)
    reason = body.get("reason") if isinstance(body, dict) else None
    try:
        record = await target.engine.cancel(execution_id, str(reason) if reason is not None else None)
    except StoreUnavailableError as exc:
        return unavailable(exc)
    return JSONResponse(project(record, target.base), status_code=200 if found.terminal else 202)


async def resume(target: DurableTarget, request: Request, execution_id: str) -> JSONResponse:
    """Requeue a waiting execution with the body (validated by the resume model): ``202``; ``409`` otherwise."""
    found = await find(target, execution_id)
    if isinstance(found, JSONResponse):
        return found
    resume_model = target.spec.resume_model
    try:
        body = await read_json(request)
        value = validate_body(resume_model, body) if resume_model is not None else body
    except BodyError as exc:
        return error(422, exc.errors)
    try:
        record = await target.engine.resume(execution_id, value)
    except InvalidTransitionError as exc:
        return error(409, str(exc))
    except PayloadTooLargeError as exc:
        return error(413, str(exc))
    except StoreUnavailableError as exc:
        return unavailable(exc)
    return JSONResponse(project(record, target.base), status_code=202)


async def stream(target: DurableTarget, request: Request, execution_id: str) -> Response:
    """SSE: the chunks after ``Last-Event-ID`` as they are written, then an event named after the final status."""
    found = await find(target, execution_id)
    if isinstance(found, JSONResponse):
        return found
    last_event_id = request.headers.get("last-event-id")
    cursor = None
    if last_event_id:
        try:
            cursor = parse_cursor(last_event_id)
        except ValueError as exc:
            return error(422, str(exc))
    frames = stream_execution(target.engine, found, cursor, target.base)
    return StreamResponse(from_frames(frames), media_type="text/event-stream; charset=utf-8")


async def page(target: DurableTarget, limit: int, cursor: str | None) -> JSONResponse:
    """One page of the deployment's executions (every owner), newest first."""
    if not 1 <= limit <= 500:
        return error(422, [{"type": "value_error", "loc": ["query", "limit"], "msg": "limit must be 1 to 500"}])
    try:
        records, next_cursor = await target.engine.list(target.name, None, limit, cursor)
    except StoreUnavailableError as exc:
        return unavailable(exc)
    body = {
        "executions": [summarize(r) for r in records],
        "next_cursor": next_cursor,
        "has_more": next_cursor is not None,
        "skipped_controls": 0,
    }
    return JSONResponse(body)
