"""The durable engine: accepts executions, runs them on this process's workers, and writes every change.

Each process runs ``worker_concurrency`` worker loops. A loop claims a due execution (queued, or running with
an expired lease: its worker died) by compare-and-set, renews the lease while the wrapper runs, and writes the
outcome only while it still holds the lease, so a result is written once even when two workers raced.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Collection
from typing import Any

from hayhooks.durable._threads import run_sync
from hayhooks.durable.claim import Claim, PayloadKind
from hayhooks.durable.config import DurableConfig
from hayhooks.durable.context import DurableContext
from hayhooks.durable.errors import (
    CapacityError,
    ExecutionLeaseLostError,
    ExecutionNotFoundError,
    ExecutionPayloadSizeError,
    IdempotencyConflictError,
    LeaseLostError,
    PayloadTooLargeError,
    StoreUnavailableError,
)
from hayhooks.durable.models import ExecutionRecord, ExecutionStatus, encode, new_execution_id, now_ms
from hayhooks.durable.spec import DurableSpec
from hayhooks.durable.stores.base import ExecutionStore
from hayhooks.durable.workers import WorkerLoops

__all__ = [
    "Claim",
    "DurableEngine",
    "ExecutionLeaseLostError",
    "ExecutionNotFoundError",
    "ExecutionPayloadSizeError",
    "ExecutionStatus",
    "InvalidExecutionTransitionError",
    "InvalidTransitionError",
    "PayloadKind",
    "SpecResolver",
]

# Hayhooks 2.1.0's command names (``commands.py``), loaded on first use: building their 13 dataclasses costs
# about 25 ms, which every server start would pay for names only code written against 2.1.0's internals reads.
_COMMAND_NAMES = frozenset(
    "Checkpoint Complete ExecutionCommand ExecutionControl Fail Heartbeat ProgressEvent RecoverExpiredLease "
    "ReleaseClaim RequestCancellation Resume ScheduleRetry Suspend TransitionPlan decide initial_control "
    "submission_plan".split()
)


def __getattr__(name: str) -> Any:
    if name in _COMMAND_NAMES:
        from hayhooks.durable import commands

        return getattr(commands, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


logger = logging.getLogger("hayhooks.durable")

SpecResolver = Callable[[str, str], DurableSpec | None]  # (pipeline name, execution kind) -> spec
CAS_ATTEMPTS = 50
COUNT_CACHE_SECONDS = 0.25


class InvalidTransitionError(Exception):
    """The execution is not in a status that allows this operation (HTTP 409)."""


InvalidExecutionTransitionError = InvalidTransitionError  # Hayhooks 2.1.0's name


class DurableEngine(WorkerLoops):
    def __init__(
        self,
        store: ExecutionStore,
        config: DurableConfig,
        resolve: SpecResolver,
        names: Callable[[], Collection[str]],
        worker: str = "worker",
    ) -> None:
        self.store = store
        self.config = config
        self._resolve = resolve
        self._names = names
        self.worker = f"{worker}/{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._running: dict[str, DurableContext] = {}
        self._stopping = False
        self.started = False
        self._count_cache: tuple[float, int] = (float("-inf"), 0)
        # Observers (metrics): counts by status after each maintenance pass, and each claim.
        self.on_counts: Callable[[dict[str, int]], None] | None = None
        self.on_claim: Callable[[ExecutionRecord, bool], None] | None = None

    # --- store access --------------------------------------------------------------------------------------
    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if not self.store.blocking:
            return fn(*args)
        return await run_sync(fn, *args)

    def check_size(self, what: str, value: Any) -> None:
        size = len(encode(value).encode())
        if size > self.config.max_payload_bytes:
            raise PayloadTooLargeError(
                f"{what} is {size} bytes, over HAYHOOKS_DURABLE_MAX_PAYLOAD_BYTES ({self.config.max_payload_bytes})"
            )

    def _mutate(
        self, execution_id: str, mutate: Callable[[ExecutionRecord], None], cached: ExecutionRecord | None = None
    ) -> ExecutionRecord:
        """Read, change and compare-and-set one record, retrying when someone else wrote in between.

        ``cached``, the version this process wrote last, saves the read when nobody wrote since."""
        for attempt in range(CAS_ATTEMPTS):
            record = cached.copy() if attempt == 0 and cached is not None else self.store.get(execution_id)
            expected = _next_version(execution_id, record, mutate)
            if self.store.compare_and_set(record, expected):
                return record
        raise StoreUnavailableError(f"execution {execution_id} is changing too fast to update")

    async def _amutate(
        self, execution_id: str, mutate: Callable[[ExecutionRecord], None], cached: ExecutionRecord | None = None
    ) -> ExecutionRecord:
        """``_mutate`` from the event loop: each store call awaited there when the store does its own async I/O,
        else the whole read-modify-write handed to one worker thread."""
        if not self.store.native_async:
            return await self._call(self._mutate, execution_id, mutate, cached)
        for attempt in range(CAS_ATTEMPTS):
            record = cached.copy() if attempt == 0 and cached is not None else await self.store.aget(execution_id)
            expected = _next_version(execution_id, record, mutate)
            if await self.store.acompare_and_set(record, expected):
                return record
        raise StoreUnavailableError(f"execution {execution_id} is changing too fast to update")

    # --- API operations ------------------------------------------------------------------------------------
    async def submit(
        self, pipeline: str, spec: DurableSpec, request: Any, owner_id: str | None, idempotency_key: str | None
    ) -> tuple[ExecutionRecord, bool]:
        """Store a new queued execution; ``(existing, False)`` for a replay of the same idempotent request."""
        from hayhooks.durable.models import fingerprint

        self.check_size("request", request)
        digest = fingerprint({"pipeline": pipeline, "request": request})
        unfinished = await self._unfinished()
        if unfinished >= self.config.max_nonterminal_executions:
            raise CapacityError(
                f"{unfinished} executions are unfinished, the limit is HAYHOOKS_DURABLE_MAX_NONTERMINAL_EXECUTIONS"
            )
        now = now_ms()
        record = ExecutionRecord(
            execution_id=new_execution_id(),
            pipeline=pipeline,
            revision=spec.revision,
            owner_id=owner_id,
            request=request,
            kind=spec.kind,
            idempotency_key=idempotency_key,
            request_fingerprint=digest,
            available_at=now,
            created_at=now,
            updated_at=now,
        )
        stored, created = await self.store.ainsert(record)
        self._count_cache = (self._count_cache[0], self._count_cache[1] + int(created))
        if not created and stored.request_fingerprint != digest:
            raise IdempotencyConflictError("idempotency key is bound to different work")
        if created:
            self._wake.set()
        return stored, created

    async def _unfinished(self) -> int:
        """Unfinished executions in the store, read at most every ``COUNT_CACHE_SECONDS`` (plus local submits)."""
        read_at, count = self._count_cache
        if time.monotonic() - read_at > COUNT_CACHE_SECONDS:
            count = await self.store.acount_nonterminal()
            self._count_cache = (time.monotonic(), count)
        return count

    async def get(self, execution_id: str) -> ExecutionRecord | None:
        return await self.store.aget(execution_id)

    async def list(
        self, pipeline: str, owner_id: str | None, limit: int, cursor: str | None
    ) -> tuple[list[ExecutionRecord], str | None]:
        return await self._call(self.store.list, pipeline, owner_id, limit, cursor)

    def _terminal(self, record: ExecutionRecord, status: ExecutionStatus) -> None:
        record.status = status.value
        record.lease_owner = None
        record.lease_expires_at = None
        record.waiting = None
        record.expires_at = now_ms() + self.config.terminal_ttl_seconds * 1000

    async def cancel(self, execution_id: str, reason: str | None) -> ExecutionRecord:
        def mutate(record: ExecutionRecord) -> None:
            if record.terminal:
                return
            if record.cancellation_requested_at is None:
                record.cancellation_requested_at = now_ms()
                record.cancellation_reason = (reason or "")[:1000] or None
            if record.status in ("queued", "waiting"):
                self._terminal(record, ExecutionStatus.CANCELED)

        record = await self._amutate(execution_id, mutate)
        local = self._running.get(execution_id)
        if local is not None:
            local.cancel_requested = True
        return record

    async def resume(self, execution_id: str, value: Any) -> ExecutionRecord:
        self.check_size("resume input", value)

        def mutate(record: ExecutionRecord) -> None:
            if record.status != ExecutionStatus.WAITING.value:
                raise InvalidTransitionError("only waiting executions can resume")
            record.status = ExecutionStatus.QUEUED.value
            record.waiting = None
            record.resume_input = value
            record.has_resume_input = True
            record.run_attempts = 0
            record.available_at = now_ms()

        record = await self._amutate(execution_id, mutate)
        self._wake.set()
        return record

    def running_counts(self) -> dict[str, int]:
        """Executions running in this process, by pipeline."""
        counts: dict[str, int] = {}
        for context in list(self._running.values()):
            counts[context._record.pipeline] = counts.get(context._record.pipeline, 0) + 1
        return counts

    def cancel_was_requested(self, execution_id: str) -> bool:
        record = self.store.get(execution_id)
        return record is not None and record.cancellation_requested_at is not None

    # --- writes under a lease (called by DurableContext, possibly from a worker thread) -------------------
    def write_under_lease(self, context: DurableContext, mutate: Callable[[ExecutionRecord], None]) -> ExecutionRecord:
        return self._mutate(context.execution_id, self._leased(context, mutate), context._record)

    async def awrite_under_lease(
        self, context: DurableContext, mutate: Callable[[ExecutionRecord], None]
    ) -> ExecutionRecord:
        return await self._amutate(context.execution_id, self._leased(context, mutate), context._record)

    def _leased(
        self, context: DurableContext, mutate: Callable[[ExecutionRecord], None]
    ) -> Callable[[ExecutionRecord], None]:
        def guarded(record: ExecutionRecord) -> None:
            self._assert_lease(context, record)
            mutate(record)

        return guarded

    def _assert_lease(self, context: DurableContext, record: ExecutionRecord) -> None:
        owned = record.status == ExecutionStatus.RUNNING.value and record.lease_owner == context._lease_token
        safe = (record.lease_expires_at or 0) - now_ms() > self.config.lease_commit_safety_ms
        if context.lease_lost or not owned or not safe:
            context.lease_lost = True
            raise LeaseLostError(f"lost the lease of execution {record.execution_id}")
        if record.cancellation_requested_at is not None:
            context.cancel_requested = True

    def add_progress(self, record: ExecutionRecord, message: str, kind: str, metadata: Any) -> None:
        limit = self.config.max_progress_event_bytes
        event = {
            "sequence": record.progress_count + 1,
            "kind": str(kind)[:100],
            "message": str(message),
            "timestamp": _iso_now(),
            "metadata": dict(metadata or {}),
        }
        if len(encode(event).encode()) > limit:
            event["metadata"] = {"truncated": True}
            event["message"] = event["message"].encode()[: limit // 2].decode(errors="ignore")
        record.progress_count += 1
        record.progress.append(event)
        del record.progress[: max(0, len(record.progress) - self.config.max_progress_events)]

    def settle_suspend(self, record: ExecutionRecord, waiting: dict[str, Any]) -> None:
        record.resume_input = None
        record.has_resume_input = False
        if record.cancellation_requested_at is not None:
            self._terminal(record, ExecutionStatus.CANCELED)
            return
        record.status = ExecutionStatus.WAITING.value
        record.waiting = waiting
        record.lease_owner = None
        record.lease_expires_at = None

    def append_chunk(self, context: DurableContext, payload: Any) -> None:
        if context.lease_lost:
            raise LeaseLostError(f"lost the lease of execution {context.execution_id}")
        text = encode(payload)
        self.store.append_chunk(context.execution_id, context.attempt, text, self.config.max_stream_chunks)


def _next_version(execution_id: str, record: ExecutionRecord | None, mutate: Callable[[ExecutionRecord], None]) -> int:
    """Apply ``mutate`` and the next version to ``record``; return the version it must replace."""
    if record is None:
        raise KeyError(execution_id)
    expected = record.version
    mutate(record)
    record.version = expected + 1
    record.updated_at = now_ms()
    return expected


def _iso_now() -> str:
    from hayhooks.durable.models import iso

    return iso(now_ms()) or ""
