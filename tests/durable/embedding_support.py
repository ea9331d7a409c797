"""A user's own FastAPI app embedding durable runs (no Hayhooks server), and helpers to drive it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Header
from fastapi.testclient import TestClient
from pydantic import BaseModel

from hayhooks.durable import (
    DurableContext,
    DurableDeployment,
    DurableRuntime,
    ExecutionStore,
    RuntimeConfig,
    create_durable_router,
)


class Job(BaseModel):
    text: str
    approve: bool = False
    chunks: int = 0
    hold: float = 0.0  # seconds spent checking for a cancel before answering


class Approval(BaseModel):
    approved: bool
    note: str = ""


class Answer(BaseModel):
    text: str
    attempt: int
    approved: bool | None = None
    note: str = ""
    owner: str | None = None


def _answer(context: DurableContext, request: Job, decision: Any) -> Answer:
    if decision is None:
        return Answer(text=request.text.upper(), attempt=context.attempt, owner=context.owner_id)
    return Answer(
        text=request.text.upper(),
        attempt=context.attempt,
        approved=decision["approved"],
        note=decision["note"],
        owner=context.owner_id,
    )


def sync_runner(context: DurableContext, request: Job) -> Answer:
    context.report_progress_sync("started", metadata={"text": request.text})
    for index in range(request.chunks):
        context.stream_chunk_sync({"index": index})
    deadline = time.monotonic() + request.hold
    while time.monotonic() < deadline:
        context.check_cancelled_sync()
        time.sleep(0.02)
    decision = None
    if request.approve:
        decision = context.resume_input
        if decision is None:
            context.suspend_sync({"question": f"publish {request.text}?"})
    return _answer(context, request, decision)


async def async_runner(context: DurableContext, request: Job) -> Answer:
    await context.report_progress("started", metadata={"text": request.text})
    for index in range(request.chunks):
        await context.stream_chunk({"index": index})
    deadline = time.monotonic() + request.hold
    while time.monotonic() < deadline:
        await context.check_cancelled()
        await asyncio.sleep(0.02)
    decision = None
    if request.approve:
        decision = context.resume_input
        if decision is None:
            await context.suspend({"question": f"publish {request.text}?"})
    return _answer(context, request, decision)


RUNNERS = {"sync": sync_runner, "async": async_runner}
FAST = RuntimeConfig(poll_interval_seconds=0.05, maintenance_interval_seconds=0.2, shutdown_grace_seconds=1.0)


def header_owner(x_user: str = Header()) -> str:
    """The owner dependency of the tests: the ``X-User`` header."""
    return x_user


def deployment_for(store: ExecutionStore, runner: Callable[..., Any] = sync_runner) -> DurableDeployment:
    return DurableDeployment(
        "summaries", "v1", store, Job, runner, result_model=Answer, resume_model=Approval, config=FAST
    )


def user_app(
    deployment: DurableDeployment,
    *,
    owner: Callable[..., Any] | None = None,
    prefix: str = "/jobs",
    start: bool = True,
    **router_options: Any,
) -> FastAPI:
    """The app a user writes: a lifespan that starts and closes the runtime, the router under ``prefix``."""
    runtime = DurableRuntime([deployment])

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start:
            await runtime.start()
        try:
            yield
        finally:
            await runtime.close()
            await runtime.wait_drained()

    app = FastAPI(lifespan=lifespan)
    app.include_router(create_durable_router(deployment, owner_id_dependency=owner, **router_options), prefix=prefix)
    return app


def wait_for(
    client: TestClient, location: str, statuses: set[str], headers: dict[str, str] | None = None, timeout: float = 20
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(location, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] in statuses:
            return body
        time.sleep(0.03)
    raise AssertionError(f"execution never reached {statuses}: {body}")
