"""Prometheus metrics and ``GET /metrics``.

With several workers, ``hayhooks run`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the
workers start (see ``process/metrics_dir.py``); every worker then writes its values there and a scrape of any
worker adds all of them up (``MultiProcessCollector``). With one worker the default registry is exposed,
including the process and Python metrics and anything a wrapper registers itself.

Label children are cached, so recording a request is a dict lookup, a counter increment and a histogram
observation. The ``pipeline`` label only ever holds deployed pipeline names (or ""), never raw paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hayhooks import executor
from hayhooks.context import RequestContext
from hayhooks.registry import Registry
from hayhooks.server.middleware.routes import route_kind, route_path, run_route_pipeline

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REQUESTS = Counter(
    "hayhooks_requests", "HTTP requests answered, by route kind, pipeline and status.", ["kind", "pipeline", "status"]
)
REQUEST_SECONDS = Histogram(
    "hayhooks_request_duration_seconds",
    "Time to answer a request (streams: until the last byte), by route kind and pipeline.",
    ["kind", "pipeline"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
RUNS_IN_FLIGHT = Gauge(
    "hayhooks_runs_in_flight", "Pipeline runs executing now.", ["pipeline"], multiprocess_mode="livesum"
)
RUNS_QUEUED = Gauge(
    "hayhooks_runs_queued", "Pipeline runs waiting for a free run slot.", ["pipeline"], multiprocess_mode="livesum"
)
RUN_REJECTIONS = Counter(
    "hayhooks_run_rejections", "Runs refused (503) because the pipeline's runs and queue were full.", ["pipeline"]
)
RUN_TIMEOUTS = Counter("hayhooks_run_timeouts", "Runs that passed their timeout (504).", ["pipeline"])
DEPLOY_EVENTS = Counter(
    "hayhooks_deploy_events", "Pipelines deployed (or redeployed) and undeployed, from any source.", ["event"]
)
DEPLOY_FAILURES = Counter(
    "hayhooks_deploy_failures", "Deploys that failed: at startup, or requested over HTTP.", ["source"]
)
STARTUP_DEPLOY_SECONDS = Gauge(
    "hayhooks_startup_deploy_seconds", "Time the startup deploy of the pipelines dir took.", multiprocess_mode="max"
)

_DEPLOY_PATHS = frozenset({"/deploy_files", "/deploy-yaml", "/deploy"})
_NOT_DEPLOY_FAILURES = frozenset({401, 403, 413, 429})


class RequestRecorder:
    """Called by the request-context middleware once per request with its status and duration.

    What a path is (route kind, pipeline name in ``/NAME/run``) is worked out once per distinct path and
    cached (up to ``_MAX_PATHS`` paths, so a scan of random URLs cannot grow it without bound).
    """

    _MAX_PATHS = 4096

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._paths: dict[str, tuple[str, str | None, bool]] = {}
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _describe(self, scope: dict[str, Any]) -> tuple[str, str | None, bool]:
        raw = scope["path"]
        described = self._paths.get(raw)
        if described is None:
            path = route_path(scope)
            kind = route_kind(path)
            described = (kind, run_route_pipeline(path) if kind == "run" else None, path in _DEPLOY_PATHS)
            if len(self._paths) < self._MAX_PATHS:
                self._paths[raw] = described
        return described

    def _metrics_for(self, kind: str, pipeline: str, status: int) -> tuple[Any, Any]:
        key = (kind, pipeline, status)
        children = self._children.get(key)
        if children is None:
            children = (REQUESTS.labels(kind, pipeline, str(status)), REQUEST_SECONDS.labels(kind, pipeline))
            self._children[key] = children
        return children

    def __call__(self, scope: dict[str, Any], ctx: RequestContext, status: int, seconds: float) -> None:
        kind, run_name, is_deploy = self._describe(scope)
        pipeline = ctx.pipeline
        if pipeline is None:
            pipeline = run_name if run_name is not None and run_name in self.registry else ""
        counter, timer = self._metrics_for(kind, pipeline, status)
        counter.inc()
        timer.observe(seconds)
        if is_deploy and status >= 400 and status not in _NOT_DEPLOY_FAILURES:
            DEPLOY_FAILURES.labels("http").inc()


def on_registry_event(event: str, name: str) -> None:
    DEPLOY_EVENTS.labels(event).inc()


def _exposition() -> bytes:
    if not MULTIPROCESS:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    prom_multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


async def metrics_endpoint(request: Request) -> Response:
    body = await executor.run(_exposition) if MULTIPROCESS else _exposition()
    return Response(body, media_type=CONTENT_TYPE_LATEST)


metrics_route = Route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)


async def _record_startup(state: Any) -> None:
    await state.ready.wait()
    report = state.startup_report
    if report is not None:
        STARTUP_DEPLOY_SECONDS.set(report.seconds)
        if report.failed:
            DEPLOY_FAILURES.labels("startup").inc(len(report.failed))


@contextlib.asynccontextmanager
async def metrics_lifespan(app: Any) -> AsyncIterator[None]:
    """Records the startup deploy once it is done; on exit, drops this worker's live gauges."""
    task = asyncio.create_task(_record_startup(app.state.hayhooks))
    try:
        yield
    finally:
        task.cancel()
        if MULTIPROCESS:
            with contextlib.suppress(OSError):
                prom_multiprocess.mark_process_dead(os.getpid())
