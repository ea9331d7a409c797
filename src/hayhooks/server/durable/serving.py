"""Logic behind the durable routes: one engine per server process, owners, and the streaming loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request

from hayhooks.context import get_request_context
from hayhooks.durable import DurableEngine, DurableSpec, ExecutionRecord, create_store
from hayhooks.durable.config import config_from_settings
from hayhooks.durable.models import parse_cursor, project
from hayhooks.registry import DeployedPipeline
from hayhooks.server.durable import metrics as durable_metrics
from hayhooks.server.frames import HEARTBEAT, data_frame
from hayhooks.server.state import ServerState

logger = logging.getLogger("hayhooks.durable")

STREAM_POLL_SECONDS = 0.05
STREAM_IDLE_POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0


BACKGROUND_METHODS = frozenset({"run_response", "run_response_async"})


def spec_of(state: ServerState, name: str, kind: str = "pipeline") -> DurableSpec | None:
    """The spec executions of ``kind`` on pipeline ``name`` run with (``response``: OpenAI background runs)."""
    pipeline = state.registry.get(name)
    if pipeline is None:
        return None
    make = _SPEC_KINDS.get(kind)  # e.g. "response"; a wrapper's own executions ("pipeline", "agent") use its spec
    if make is not None:
        return make(pipeline)
    return pipeline.state.get("durable")


# Other kinds of durable executions, by kind: a function giving the spec a pipeline runs them with, or None.
# ``server/durable/openai_background.py`` registers "response" (OpenAI background responses) when imported.
_SPEC_KINDS: dict[str, Callable[[DeployedPipeline], DurableSpec | None]] = {}


def register_spec_kind(kind: str, make: Callable[[DeployedPipeline], DurableSpec | None]) -> None:
    _SPEC_KINDS[kind] = make


def durable_names(state: ServerState) -> list[str]:
    """Pipelines whose executions this process can run."""
    return [p.name for p in state.registry.all() if "durable" in p.state or p.methods & BACKGROUND_METHODS]


def has_durable(state: ServerState) -> bool:
    return any("durable" in p.state for p in state.registry.all())


def install_durable(app: FastAPI, state: ServerState) -> DurableEngine:
    """Create the store and engine (no connection yet) and start the workers with the app."""
    config = config_from_settings(state.settings)
    engine = DurableEngine(
        create_store(config),
        config,
        resolve=lambda name, kind: spec_of(state, name, kind),
        names=lambda: durable_names(state),
        worker=state.worker,
    )
    engine.on_counts, engine.on_claim = durable_metrics.record_counts, durable_metrics.record_claim
    state.durable = engine
    if config.store == "memory" and state.settings.workers > 1:
        logger.warning(
            "HAYHOOKS_DURABLE_STORE=memory keeps executions inside each worker process: with several workers a "
            "request may reach a worker that does not know the execution. Use the sqlite or redis store."
        )
    state.lifespan_hooks.append(_lifespan(engine))
    state.registry.subscribe(lambda event, name: engine.wake() if event == "deployed" else None)
    return engine


def _lifespan(engine: DurableEngine) -> Callable[[Any], Any]:
    @contextlib.asynccontextmanager
    async def hook(app: Any) -> AsyncIterator[None]:
        logger.info("Durable executions use the %s store", engine.store.describe())
        await engine.start()
        try:
            yield
        finally:
            await engine.stop()

    return hook


async def durable_readiness(state: ServerState) -> str | None:
    """Why the durable store is unusable (only asked when a durable pipeline is deployed), else ``None``."""
    engine: DurableEngine | None = state.durable
    if engine is None or not has_durable(state):
        return None
    try:
        await engine._call(engine.store.ping)
    except Exception as exc:
        return f"The durable execution store ({engine.store.describe()}) is unavailable: {exc}"
    return None


def durable_status(state: ServerState) -> dict[str, Any] | None:
    """The ``durable`` block of ``GET /status`` (no store access: ``/health/ready`` checks the store)."""
    engine: DurableEngine | None = state.durable
    if engine is None:
        return None
    running = engine.running_counts()
    deployments = {
        p.name: {"healthy": engine.started, "revision": p.state["durable"].revision, "running": running.get(p.name, 0)}
        for p in state.registry.all()
        if "durable" in p.state
    }
    return {
        "healthy": engine.started,
        "store": engine.store.describe(),
        "worker_concurrency": engine.config.worker_concurrency,
        "deployments": deployments,
    }


def get_engine(request: Request) -> DurableEngine:
    return request.app.state.hayhooks.durable


# --- owners ---------------------------------------------------------------------------------------------------
def caller_key() -> str | None:
    ctx = get_request_context()
    return None if ctx is None else ctx.key_id


def is_admin() -> bool:
    key = caller_key()
    return key is None or key.startswith("admin#")


def owner_for(request: Request, spec: DurableSpec) -> str | None:
    """Who a request acts for: the wrapper's ``durable_owner_id(request)``, else the API key, else nobody."""
    if spec.owner_id is not None:
        return str(spec.owner_id(request))
    return caller_key()


def visible(record: ExecutionRecord, request: Request, spec: DurableSpec | None) -> bool:
    if spec is not None and spec.owner_id is not None:
        return record.owner_id == str(spec.owner_id(request)) or (caller_key() or "").startswith("admin#")
    key = caller_key()
    if key is None or key.startswith("admin#"):
        return True
    return record.owner_id == key


# --- streaming ------------------------------------------------------------------------------------------------
async def stream_execution(
    engine: DurableEngine, record: ExecutionRecord, cursor: tuple[int, int] | None, base: str
) -> AsyncIterator[str]:
    """Chunks after ``cursor`` as they are written, then one event named after the final status (the execution,
    its links under ``base``).

    The store is polled, every ``STREAM_POLL_SECONDS`` while chunks come, backing off to
    ``STREAM_IDLE_POLL_SECONDS`` while nothing changes (e.g. an execution waiting for a person)."""
    yield HEARTBEAT
    after = cursor
    first = True
    last_beat = time.monotonic()
    delay = STREAM_POLL_SECONDS
    execution_id = record.execution_id
    while True:
        chunks, gap = await engine._call(engine.store.read_chunks, execution_id, after)
        if gap and first:
            yield data_frame({"detail": "Requested stream history is no longer available"}, "gap")
        first = False
        for chunk in chunks:
            yield data_frame({"attempt": chunk.attempt, "payload": chunk.payload}, "chunk", chunk.chunk_id)
            after = parse_cursor(chunk.chunk_id)
        if record.terminal and not chunks:
            yield data_frame(project(record, base), record.status)
            return
        if not record.terminal:
            if chunks:
                delay = STREAM_POLL_SECONDS
            else:
                await asyncio.sleep(delay)
                delay = min(STREAM_IDLE_POLL_SECONDS, delay * 1.5)
            current = await engine.get(execution_id)
            if current is None:
                return
            if current.version != record.version:
                delay = STREAM_POLL_SECONDS
            record = current
        if time.monotonic() - last_beat > HEARTBEAT_SECONDS:
            last_beat = time.monotonic()
            yield HEARTBEAT
