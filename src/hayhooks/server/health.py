"""Health probes: always answer, never wait for startup, never need a key."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hayhooks.server.durable.serving import durable_readiness
from hayhooks.server.state import get_state

router = APIRouter(tags=["health"])


@router.get("/health/live", summary="Liveness: the process answers")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready", summary="Readiness: startup deploy has finished")
async def ready(request: Request) -> JSONResponse:
    state = get_state(request)
    if not state.lifespan_started:
        await state.wait_ready()  # no lifespan: this request runs the startup deploy
    if not state.ready.is_set():
        return JSONResponse({"status": "starting"}, status_code=503)
    durable = await durable_readiness(state)
    if durable is not None:
        return JSONResponse({"status": "durable_store_unavailable", "detail": durable}, status_code=503)
    return JSONResponse({"status": "ready", "pipelines": len(state.registry.names())})
