"""Per-pipeline run limits: how many runs execute at once, how many may wait, and how long a request waits.

Each pipeline gets a ``RunGate`` (kept in ``DeployedPipeline.state``, so a redeployed version starts with a
fresh one) from its resolved limits: the wrapper's class attributes / YAML top-level keys, else the server
defaults ``HAYHOOKS_MAX_CONCURRENT_RUNS``, ``HAYHOOKS_MAX_QUEUED_RUNS`` and ``HAYHOOKS_REQUEST_TIMEOUT``.

- All runs slots taken and ``max_queued_runs`` callers already waiting: ``PipelineBusyError`` (503 with
  ``Retry-After``) at once. Other pipelines have their own gates and are not affected.
- ``request_timeout`` bounds the whole wait of a caller (queueing plus running): past it,
  ``PipelineTimeoutError`` (504). An async run is cancelled. A sync run cannot be interrupted: it finishes
  on its thread, still holding its run slot, so a pipeline that hangs fills its slots and then answers 503
  instead of piling up threads.

Use it from any route that runs a pipeline::

    from hayhooks.server.limits import RunLimitError, run_limited

    try:
        result = await run_limited(pipeline, settings, wrapper.run_chat_completion, model, messages, body)
    except RunLimitError as exc:
        return exc.response()          # or let it propagate: the app answers 503/504 for it

``run_limited`` runs a sync callable on a worker thread and awaits an ``async def`` one. For a stream that
should keep its slot until the last chunk, use ``async with run_slot(pipeline, settings):`` around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.responses import JSONResponse

from hayhooks import executor
from hayhooks.context import get_request_context
from hayhooks.registry import DeployedPipeline, Registry
from hayhooks.server import metrics
from hayhooks.settings import Settings

_GATE_KEY = "run_gate"


class RunLimitError(Exception):
    status_code = 503

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse({"detail": self.detail}, status_code=self.status_code, headers=self.headers)


class PipelineBusyError(RunLimitError):
    """Every run slot is taken and the queue is full."""

    status_code = 503

    def __init__(self, pipeline: str, retry_after: int) -> None:
        super().__init__(
            f"Pipeline '{pipeline}' is at capacity (all run slots and queue places taken); retry later.",
            {"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class PipelineTimeoutError(RunLimitError):
    """The caller waited longer than the pipeline's request timeout."""

    status_code = 504

    def __init__(self, pipeline: str, timeout: float) -> None:
        super().__init__(f"Pipeline '{pipeline}' did not answer within {timeout:g}s (request timeout).")


@dataclass(frozen=True)
class RunLimits:
    timeout: float | None = None
    max_concurrent: int | None = None
    max_queued: int | None = None


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def resolve_limits(pipeline: DeployedPipeline, settings: Settings) -> RunLimits:
    """The pipeline's own limits, falling back to the server defaults (``None`` everywhere = unlimited)."""
    return RunLimits(
        timeout=_first(pipeline.request_timeout, settings.request_timeout),
        max_concurrent=_first(pipeline.max_concurrent_runs, settings.max_concurrent_runs),
        max_queued=_first(pipeline.max_queued_runs, settings.max_queued_runs),
    )


class RunGate:
    """Run slots and queue of one pipeline version. Used from the event loop only (release is thread-safe)."""

    def __init__(self, name: str, limits: RunLimits) -> None:
        self.name = name
        self.limits = limits
        self._slots = asyncio.Semaphore(limits.max_concurrent) if limits.max_concurrent else None
        self._waiting = 0
        self._average_seconds = 1.0
        self._in_flight = metrics.RUNS_IN_FLIGHT.labels(name)
        self._queued = metrics.RUNS_QUEUED.labels(name)
        self._rejections = metrics.RUN_REJECTIONS.labels(name)
        self._timeouts = metrics.RUN_TIMEOUTS.labels(name)

    def retry_after(self) -> int:
        """Seconds a refused caller should wait: about one average run, at least 1, at most 60."""
        return min(60, max(1, math.ceil(self._average_seconds)))

    async def acquire(self) -> None:
        slots = self._slots
        if slots is not None:
            if slots.locked():
                await self._wait_in_queue(slots)
            else:
                await slots.acquire()
        self._in_flight.inc()

    async def _wait_in_queue(self, slots: asyncio.Semaphore) -> None:
        if self.limits.max_queued is not None and self._waiting >= self.limits.max_queued:
            self._rejections.inc()
            raise PipelineBusyError(self.name, self.retry_after())
        self._waiting += 1
        self._queued.inc()
        try:
            await slots.acquire()
        finally:
            self._waiting -= 1
            self._queued.dec()

    def release(self, seconds: float | None = None) -> None:
        self._in_flight.dec()
        if seconds is not None:
            self._average_seconds = 0.8 * self._average_seconds + 0.2 * seconds
        if self._slots is not None:
            self._slots.release()

    def timed_out(self) -> PipelineTimeoutError:
        self._timeouts.inc()
        return PipelineTimeoutError(self.name, self.limits.timeout or 0)


def gate_for(pipeline: DeployedPipeline, settings: Settings) -> RunGate:
    gate = pipeline.state.get(_GATE_KEY)
    if gate is None:
        gate = pipeline.state[_GATE_KEY] = RunGate(pipeline.name, resolve_limits(pipeline, settings))
    return gate


def prepare_gates(registry: Registry, settings: Settings) -> None:
    """Give every pipeline its gate with the server defaults as soon as it is deployed (the first run would
    otherwise build it)."""

    def on_event(event: str, name: str) -> None:
        pipeline = registry.get(name) if event == "deployed" else None
        if pipeline is not None:
            pipeline.state[_GATE_KEY] = RunGate(name, resolve_limits(pipeline, settings))

    registry.subscribe(on_event)


def _tag_request(pipeline: DeployedPipeline) -> None:
    ctx = get_request_context()
    if ctx is not None:
        ctx.pipeline = pipeline.name


async def _acquire_by(gate: RunGate, deadline: float | None) -> None:
    if deadline is None:
        await gate.acquire()
        return
    with anyio.CancelScope(deadline=deadline) as scope:
        await gate.acquire()
    if scope.cancelled_caught:
        raise gate.timed_out()


@contextlib.asynccontextmanager
async def run_slot(pipeline: DeployedPipeline, settings: Settings) -> AsyncIterator[None]:
    """Hold one of the pipeline's run slots for the block (waiting in its queue, or ``PipelineBusyError``).

    The request timeout bounds only the wait for the slot here; the block itself is not timed.
    """
    gate = gate_for(pipeline, settings)
    _tag_request(pipeline)
    timeout = gate.limits.timeout
    await _acquire_by(gate, None if timeout is None else anyio.current_time() + timeout)
    started = time.perf_counter()
    try:
        yield
    finally:
        gate.release(time.perf_counter() - started)


async def run_limited(
    pipeline: DeployedPipeline, settings: Settings, func: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> Any:
    """Call ``func(*args, **kwargs)`` for ``pipeline`` within its run limits (see the module docstring)."""
    gate = gate_for(pipeline, settings)
    _tag_request(pipeline)
    timeout = gate.limits.timeout
    deadline = None if timeout is None else anyio.current_time() + timeout
    if deadline is None:
        await gate.acquire()
    else:
        await _acquire_by(gate, deadline)
    if inspect.iscoroutinefunction(func):
        return await _run_async(gate, func(*args, **kwargs), deadline)
    return await _run_sync(gate, functools.partial(func, *args, **kwargs) if args or kwargs else func, deadline)


async def _run_async(gate: RunGate, call: Awaitable[Any], deadline: float | None) -> Any:
    started = time.perf_counter()
    try:
        if deadline is None:
            return await call
        with anyio.CancelScope(deadline=deadline) as scope:
            result = await call
    finally:
        gate.release(time.perf_counter() - started)
    if scope.cancelled_caught:
        raise gate.timed_out()
    return result


async def _run_sync(gate: RunGate, call: Callable[[], Any], deadline: float | None) -> Any:
    """On a worker thread. The slot is freed when the call really ends: a sync call cannot be interrupted, so
    one whose caller timed out or went away keeps its slot until it returns (see ``hayhooks.executor``)."""
    started = time.perf_counter()
    job = executor.start(executor.Job(call, on_end=lambda: gate.release(time.perf_counter() - started)))
    if deadline is None:
        return await job.result()
    with anyio.CancelScope(deadline=deadline) as scope:
        result = await job.result()
    if scope.cancelled_caught:
        raise gate.timed_out()
    return result


def install_error_handlers(app: Any) -> None:
    """Answer a ``RunLimitError`` that escapes a route with its 503/504 response."""

    async def on_limit(request: Any, exc: RunLimitError) -> JSONResponse:
        return exc.response()

    app.add_exception_handler(RunLimitError, on_limit)
