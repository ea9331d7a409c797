"""Durable executions inside your own application: ``DurableDeployment`` (one typed runner, one store) and
``DurableRuntime`` (the deployments an app starts and closes together).

A deployment runs on the same ``DurableEngine`` as the Hayhooks server: the same stores, workers, leases,
retries and wire format. ``hayhooks.durable.fastapi.create_durable_router`` serves one over HTTP.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter

from hayhooks.durable.config import RuntimeConfig, embedded_config
from hayhooks.durable.context import DurableContext
from hayhooks.durable.engine import DurableEngine
from hayhooks.durable.errors import ExecutionAdmissionError, ExecutionNotFoundError
from hayhooks.durable.haystack import haystack_target
from hayhooks.durable.models import CheckpointEnvelope, ExecutionKind, ExecutionRecord, ExecutionStatus
from hayhooks.durable.spec import DurableSpec
from hayhooks.durable.stores.base import ExecutionStore

DurableRunner = Callable[[DurableContext, Any], object]
"""``runner(context, request)``: a plain function (run on the executor) or ``async def``; returns the result."""

__all__ = [
    "CheckpointEnvelope",
    "DurableDeployment",
    "DurableRunner",
    "DurableRuntime",
    "ExecutionAdmissionError",
    "ExecutionKind",
    "ExecutionNotFoundError",
    "ExecutionStatus",
    "RuntimeConfig",
    "SubmissionResult",
]


@dataclass(frozen=True)
class SubmissionResult:
    """What ``submit`` stored: the execution, and whether it is new (``False``: an idempotent replay)."""

    created: bool
    record: ExecutionRecord

    @property
    def execution_id(self) -> str:
        return self.record.execution_id


def _model(value: Any, what: str, *, optional: bool) -> type[BaseModel] | None:
    if value is None and optional:
        return None
    if not (inspect.isclass(value) and issubclass(value, BaseModel)):
        raise TypeError(f"{what} must be a Pydantic model class")
    return value


def _is_async(runner: Any) -> bool:
    call = type(runner).__call__ if not inspect.isroutine(runner) else None
    return inspect.iscoroutinefunction(runner) or (call is not None and inspect.iscoroutinefunction(call))


class DurableDeployment:
    """One typed durable runner backed by a store the application owns (closing the deployment leaves the store
    open: close it yourself after ``wait_drained()``).

    The lifecycle goes one way: ``start()`` opens admission and starts the workers, ``close()`` ends both for
    good; a new lifecycle needs a new instance."""

    def __init__(
        self,
        name: str,
        revision: str,
        store: ExecutionStore,
        request_model: type[BaseModel],
        runner: DurableRunner,
        *,
        kind: ExecutionKind = ExecutionKind.PIPELINE,
        result_model: type[BaseModel] | None = None,
        resume_model: type[BaseModel] | None = None,
        adapter: Any | None = None,
        config: RuntimeConfig | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip() or store.deployment not in (None, name):
            raise ValueError("deployment name must be non-empty and match its store")
        if not isinstance(revision, str) or not revision.strip():
            raise ValueError("definition revision cannot be empty")
        if not callable(runner):
            raise TypeError("runner must be callable as runner(context, request)")
        request = _model(request_model, "request_model", optional=False)
        result = _model(result_model, "result_model", optional=True)
        self.name = name
        self.revision = revision.strip()
        self.store = store
        self.kind = ExecutionKind(kind)
        self.config = config if config is not None else RuntimeConfig()
        self.spec = DurableSpec(
            revision=self.revision,
            request_model=request,  # type: ignore[arg-type]
            result_adapter=TypeAdapter(result if result is not None else Any),
            resume_model=_model(resume_model, "resume_model", optional=True),
            runner=runner,
            is_async=_is_async(runner),
            kind=self.kind.value,
            owner_id=None,
            target=haystack_target(adapter),
            deployed_at=time.time(),
        )
        self.engine = DurableEngine(
            store,
            embedded_config(store.config, self.config, store.name),
            resolve=lambda pipeline, _kind: self.spec if pipeline == self.name else None,
            names=lambda: (self.name,),
            worker=f"embedded:{name}",
        )
        self._phase = "new"  # -> "started" -> ("quiescing" ->) "closed"

    # --- lifecycle -----------------------------------------------------------------------------------------
    @property
    def accepting(self) -> bool:
        """Whether new executions are admitted (between ``start()`` and ``quiesce()`` / ``close()``)."""
        return self._phase == "started"

    async def start(self) -> None:
        """Check the store, open admission and start the workers; again while started, it does nothing."""
        if self._phase == "started":
            return
        if self._phase != "new":
            raise RuntimeError("a quiesced or closed durable deployment cannot be restarted; create a new instance")
        await self.engine._call(self.store.ping)
        await self.engine.start()
        self._phase = "started"

    async def quiesce(self) -> None:
        """Close admission for good; executions already admitted keep running until ``close()``."""
        if self._phase != "closed":
            self._phase = "quiescing"

    async def close(self) -> None:
        """Close admission, give running executions ``shutdown_grace_seconds`` and stop the workers. An execution
        still running then keeps its lease until it expires (or, with ``release_running_on_close``, is queued
        again at once) and another process continues it from its last checkpoint."""
        self._phase = "closed"
        await self.engine.stop()

    async def wait_drained(self) -> None:
        """Wait until this process runs none of the deployment's executions; call it after ``close()``."""
        await self.engine.wait_idle()

    async def health(self) -> dict[str, object]:
        """Workers of this process and the store's execution counts (``store_error`` when it cannot answer)."""
        report: dict[str, object] = {
            "healthy": self.engine.started and self.accepting,
            "accepting": self.accepting,
            "revision": self.revision,
            "store": self.store.describe(),
            "configured_slots": self.config.worker_concurrency,
            "active_executions": self.engine.running_counts().get(self.name, 0),
        }
        try:
            counts = await self.engine._call(self.store.count_by_status)
        except Exception as exc:
            report["healthy"] = False
            report["store_error"] = str(exc)
        else:
            report["counts"] = {
                "nonterminal": sum(counts.get(s.value, 0) for s in ExecutionStatus if not s.terminal),
                **{s.value: counts.get(s.value, 0) for s in ExecutionStatus},
            }
        return report

    # --- executions ----------------------------------------------------------------------------------------
    async def submit(
        self, payload: object, *, owner_id: str | None = None, idempotency_key: str | None = None
    ) -> SubmissionResult:
        """Validate ``payload`` with the request model (``pydantic.ValidationError``) and store it as a queued
        execution; with an ``idempotency_key`` used before, the earlier execution (``IdempotencyConflictError``
        when it was for a different payload)."""
        if not self.accepting:
            raise ExecutionAdmissionError(f"durable deployment '{self.name}' is not accepting submissions")
        if idempotency_key is not None and not (0 < len(idempotency_key) <= 255):
            raise ValueError("idempotency_key must be 1 to 255 characters")
        data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
        body = self.spec.request_model.model_validate(data).model_dump(mode="json")
        record, created = await self.engine.submit(self.name, self.spec, body, owner_id, idempotency_key)
        return SubmissionResult(created=created, record=record)

    async def get(
        self,
        run_id: str,
        *,
        owner_id: str | None = None,
        enforce_owner: bool = True,
        allow_revision_mismatch: bool = False,
    ) -> ExecutionRecord:
        """The execution; ``ExecutionNotFoundError`` when missing or (``enforce_owner``) of another owner.
        Executions of other revisions are returned too (``allow_revision_mismatch`` changes nothing here)."""
        record = await self.engine.get(run_id)
        if record is None or record.pipeline != self.name or (enforce_owner and record.owner_id != owner_id):
            raise ExecutionNotFoundError(f"execution '{run_id}' was not found")
        return record

    async def cancel(
        self, run_id: str, *, owner_id: str | None = None, enforce_owner: bool = True, reason: str | None = None
    ) -> ExecutionRecord:
        """Request cancellation: queued and waiting executions end at once, a running one at its next
        ``check_cancelled``; an ended execution is returned unchanged."""
        await self.get(run_id, owner_id=owner_id, enforce_owner=enforce_owner)
        return await self.engine.cancel(run_id, reason)

    async def resume(
        self, run_id: str, resume_input: object = None, *, owner_id: str | None = None, enforce_owner: bool = True
    ) -> ExecutionRecord:
        """Queue a waiting execution again with ``resume_input`` (validated by the resume model);
        ``InvalidTransitionError`` when it is not waiting."""
        await self.get(run_id, owner_id=owner_id, enforce_owner=enforce_owner)
        value: Any = resume_input
        if self.spec.resume_model is not None:
            data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
            value = self.spec.resume_model.model_validate(data).model_dump(mode="json")
        return await self.engine.resume(run_id, value)

    def __repr__(self) -> str:
        return f"DurableDeployment(name={self.name!r}, revision={self.revision!r}, store={self.store.describe()!r})"


class DurableRuntime:
    """The fixed set of deployments an application starts in its lifespan and closes on shutdown."""

    def __init__(self, deployments: Iterable[DurableDeployment] = ()) -> None:
        self.deployments: tuple[DurableDeployment, ...] = tuple(deployments)
        seen: set[str] = set()
        for deployment in self.deployments:
            if deployment.name in seen:
                raise ValueError(f"durable deployment '{deployment.name}' is listed more than once")
            seen.add(deployment.name)
        self._closed = False

    async def start(self) -> None:
        """Start every deployment in order; if one fails, close them all and raise its error."""
        if self._closed:
            raise RuntimeError("a closed durable runtime cannot be restarted; create a new one")
        try:
            for deployment in self.deployments:
                await deployment.start()
        except BaseException:
            await asyncio.gather(*(d.close() for d in self.deployments), return_exceptions=True)
            raise

    async def close(self) -> None:
        """Close every deployment at once; then raise the first failure, last deployment first."""
        self._closed = True
        outcomes = await asyncio.gather(*(d.close() for d in self.deployments), return_exceptions=True)
        for outcome in reversed(outcomes):
            if isinstance(outcome, BaseException):
                raise outcome

    async def wait_drained(self) -> None:
        await asyncio.gather(*(d.wait_drained() for d in self.deployments))

    async def health(self) -> dict[str, object]:
        reports = [await d.health() for d in self.deployments]
        return {
            "healthy": all(report["healthy"] for report in reports),
            "deployments": {d.name: report for d, report in zip(self.deployments, reports, strict=True)},
        }
