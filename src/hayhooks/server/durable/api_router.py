"""Durable routes, one set for every durable pipeline (looked up in the registry on each request).

Each route finds the pipeline, builds its ``DurableTarget`` (owner and visibility from the wrapper's
``durable_owner_id`` or the API key) and answers with ``handlers``, the code embedding routers use too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hayhooks.server.durable import handlers
from hayhooks.server.durable.handlers import DurableTarget, error
from hayhooks.server.durable.serving import get_engine, is_admin, owner_for, spec_of, visible
from hayhooks.server.routing import fast_endpoint
from hayhooks.server.state import get_state

# Documented per durable pipeline in /openapi.json, with its own models (`openapi_paths.py`), not as `/{name}/...`.
router = APIRouter(tags=["durable executions"], include_in_schema=False)


async def _target(request: Request, name: str, *, acting: bool = False) -> DurableTarget | JSONResponse:
    """The durable pipeline ``name`` as this request sees it; ``acting``: the request submits an execution, so
    the owner it is stored with is resolved."""
    state = get_state(request)
    await state.wait_ready()
    if await state.lookup(name) is None:
        return error(404, f"Pipeline '{name}' not found")
    spec = spec_of(state, name)
    if spec is None:
        return error(404, f"Pipeline '{name}' has no durable execution (run_durable / run_durable_async).")
    return DurableTarget(
        name=name,
        spec=spec,
        engine=get_engine(request),
        base=f"{request.scope.get('root_path', '')}/{name}",
        owner_id=owner_for(request, spec) if acting else None,
        sees=lambda record: visible(record, request, spec),
    )


@router.post("/{name}/run-durable", status_code=202, summary="Start a durable execution")
@fast_endpoint
async def run_durable(request: Request) -> JSONResponse:
    """Submit the JSON body as a durable execution of pipeline ``name``: ``202`` with ``Location``, or ``200`` with
    ``Idempotent-Replay: true`` for an ``Idempotency-Key`` seen before with the same body."""
    target = await _target(request, request.path_params["name"], acting=True)
    if isinstance(target, JSONResponse):
        return target
    return await handlers.submit(target, request)


@router.get("/{name}/executions", summary="List durable executions (admin key when API keys are configured)")
async def list_executions(name: str, request: Request, limit: int = 50, cursor: str | None = None) -> JSONResponse:
    target = await _target(request, name)
    if isinstance(target, JSONResponse):
        return target
    if not is_admin():
        return error(403, "Listing executions needs an admin API key.")
    return await handlers.page(target, limit, cursor)


@router.get("/{name}/executions/{execution_id}", summary="One durable execution")
async def get_execution(name: str, execution_id: str, request: Request) -> JSONResponse:
    target = await _target(request, name)
    if isinstance(target, JSONResponse):
        return target
    return await handlers.show(target, execution_id)


@router.post("/{name}/executions/{execution_id}/cancel", summary="Cancel a durable execution")
async def cancel_execution(name: str, execution_id: str, request: Request) -> JSONResponse:
    target = await _target(request, name)
    if isinstance(target, JSONResponse):
        return target
    return await handlers.cancel(target, request, execution_id)


@router.post("/{name}/executions/{execution_id}/resume", summary="Resume a waiting durable execution")
async def resume_execution(name: str, execution_id: str, request: Request) -> JSONResponse:
    target = await _target(request, name)
    if isinstance(target, JSONResponse):
        return target
    return await handlers.resume(target, request, execution_id)


@router.get("/{name}/executions/{execution_id}/stream", summary="Stream a durable execution (SSE)")
async def stream(name: str, execution_id: str, request: Request) -> Any:
    target = await _target(request, name)
    if isinstance(target, JSONResponse):
        return target
    return await handlers.stream(target, request, execution_id)
