"""The durable engine: accepts executions, runs them on this process's workers, and writes every change.

Each process runs ``worker_concurrency`` worker loops. A loop claims a due execution (queued, or running with
an expired lease: its worker died) by compare-and-set, renews the lease while the wrapper runs, and writes the
outcome only while it still holds the lease, so a result is written once even when two workers raced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Collection
from typing import Any

from hayhooks.durable._threads import run_sync
from hayhooks.durable.config import DurableConfig
from hayhooks.durable.context import DurableContext, enter_context, leave_context
from hayhooks.durable.errors import (
    CapacityError,
    DurableExecutionCancelledError,
    IdempotencyConflictError,
    LeaseLostError,
    PayloadTooLargeError,
    RetrySignal,
    StoreUnavailableError,
    SuspendSignal,
)
from hayhooks.durable.models import ExecutionRecord, ExecutionStatus, encode, new_execution_id, now_ms
from hayhooks.durable.spec import DurableSpec
from hayhooks.durable.stores.base import ExecutionStore

logger = logging.getLogger("hayhooks.durable")

SpecResolver = Callable[[str, str], DurableSpec | None]  # (pipeline name, execution kind) -> spec
CAS_ATTEMPTS = 50


class InvalidTransitionError(Exception):
    """The execution is not in a status that allows this operation (HTTP 409)."""


def _error(kind: str, message: str, code: str | None = None, retryable: bool = False) -> dict[str, Any]:
    return {"type": kind, "message": message, "retryable": retryable, "code": code}


class DurableEngine:
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

    def _mutate(self, execution_id: str, mutate: Callable[[ExecutionRecord], None]) -> ExecutionRecord:
        """Read, change and compare-and-set one record, retrying when someone else wrote in between."""
        for _ in range(CAS_ATTEMPTS):
            record = self.store.get(execution_id)
            if record is None:
                raise KeyError(execution_id)
            expected = record.version
            mutate(record)
            record.version = expected + 1
            record.updated_at = now_ms()
            if self.store.compare_and_set(record, expected):
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
        if idempotency_key is None:
            counts = await self._call(self.store.count_nonterminal)
            if counts >= self.config.max_nonterminal_executions:
                raise CapacityError(
                    f"{counts} executions are unfinished, the limit is HAYHOOKS_DURABLE_MAX_NONTERMINAL_EXECUTIONS"
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
        stored, created = await self._call(self.store.insert, record)
        if not created and stored.request_fingerprint != digest:
            raise IdempotencyConflictError("idempotency key is bound to different work")
        if created:
            self._wake.set()
        return stored, created

    async def get(self, execution_id: str) -> ExecutionRecord | None:
        return await self._call(self.store.get, execution_id)

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

        record = await self._call(self._mutate, execution_id, mutate)
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

        record = await self._call(self._mutate, execution_id, mutate)
        self._wake.set()
        return record

    def cancel_was_requested(self, execution_id: str) -> bool:
        record = self.store.get(execution_id)
        return record is not None and record.cancellation_requested_at is not None

    # --- writes under a lease (called by DurableContext, possibly from a worker thread) -------------------
    def write_under_lease(self, context: DurableContext, mutate: Callable[[ExecutionRecord], None]) -> ExecutionRecord:
        def guarded(record: ExecutionRecord) -> None:
            self._assert_lease(context, record)
            mutate(record)

        return self._mutate(context.execution_id, guarded)

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

    # --- workers -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        if self.started:
            return
        self.started = True
        self._stopping = False
        for index in range(max(1, self.config.worker_concurrency)):
            self._tasks.append(asyncio.create_task(self._worker_loop(), name=f"hayhooks-durable-worker-{index}"))
        self._tasks.append(asyncio.create_task(self._maintenance_loop(), name="hayhooks-durable-maintenance"))

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        """Stop claiming; give running executions the grace period, then release (or abandon) their leases."""
        self._stopping = True
        self._wake.set()
        grace = self.config.shutdown_grace_seconds
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wait_idle(), timeout=grace)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()
        self.started = False

    async def _wait_idle(self) -> None:
        while self._running:
            await asyncio.sleep(0.05)

    async def _maintenance_loop(self) -> None:
        while not self._stopping:
            try:
                removed = await self._call(self.store.purge_expired, now_ms())
                if removed:
                    logger.debug("Purged %d expired durable executions", removed)
                if self.on_counts is not None:
                    self.on_counts(await self._call(self.store.count_by_status))
            except Exception as exc:
                logger.warning("Durable maintenance failed: %s", exc)
            await asyncio.sleep(self.config.maintenance_interval_seconds)

    async def _worker_loop(self) -> None:
        while not self._stopping:
            try:
                claimed = await self._call(self._claim_next)
            except Exception as exc:
                logger.warning("Durable store unavailable while claiming work: %s", exc)
                claimed = None
            if claimed is None:
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.config.poll_interval_seconds)
                continue
            record, spec = claimed
            if spec is None:  # failed at claim time (budget or revision): already written
                continue
            await self._run(record, spec)

    def _claim_next(self) -> tuple[ExecutionRecord, DurableSpec | None] | None:
        names = self._names()
        if not names:
            return None
        now = now_ms()
        for execution_id in self.store.claimable(names, now, 16):
            if execution_id in self._running:
                continue
            record = self.store.get(execution_id)
            if record is None:
                continue
            claimed = self._try_claim(record, now)
            if claimed is not None:
                return claimed
        return None

    def _try_claim(self, record: ExecutionRecord, now: int) -> tuple[ExecutionRecord, DurableSpec | None] | None:
        due = record.status == "queued" and record.available_at <= now
        expired = record.status == "running" and (record.lease_expires_at or 0) < now
        spec = self._resolve(record.pipeline, record.kind)
        if not (due or expired) or spec is None:
            return None
        expected = record.version
        record.version += 1
        record.updated_at = now
        failure = None
        if record.run_attempts >= self.config.max_run_attempts:
            failure = _error(
                "AttemptsExhausted",
                f"Execution stopped after {record.run_attempts} attempts without finishing "
                "(HAYHOOKS_DURABLE_MAX_RUN_ATTEMPTS)",
                "attempts_exhausted",
            )
        elif record.revision != spec.revision:
            failure = _error(
                "RevisionMismatch",
                f"Execution started on revision '{record.revision}' but pipeline '{record.pipeline}' now runs "
                f"revision '{spec.revision}'; it is not continued on different code",
                "revision_mismatch",
            )
        if failure is not None:
            record.error = failure
            self._terminal(record, ExecutionStatus.FAILED)
            return (record, None) if self.store.compare_and_set(record, expected) else None
        if record.cancellation_requested_at is not None:
            self._terminal(record, ExecutionStatus.CANCELED)
            return (record, None) if self.store.compare_and_set(record, expected) else None
        record.status = ExecutionStatus.RUNNING.value
        record.attempt += 1
        record.run_attempts += 1
        record.lease_owner = f"{self.worker}/{uuid.uuid4().hex[:8]}"
        record.lease_expires_at = now + self.config.lease_duration_ms
        if not self.store.compare_and_set(record, expected):
            return None
        if self.on_claim is not None:
            self.on_claim(record, expired)
        if expired:
            logger.info(
                "Took over execution %s (attempt %d) after its lease expired", record.execution_id, record.attempt
            )
        return record, spec

    async def _heartbeat(self, context: DurableContext) -> None:
        interval = self.config.lease_duration_ms / 3000
        while True:
            await asyncio.sleep(interval)

            def renew(record: ExecutionRecord) -> None:
                record.lease_expires_at = now_ms() + self.config.lease_duration_ms

            try:
                context._record = await self._call(self.write_under_lease, context, renew)
            except LeaseLostError:
                logger.warning("Execution %s: lease lost; another worker may take it over", context.execution_id)
                return
            except Exception as exc:  # store briefly unreachable: try again on the next beat
                logger.warning("Execution %s: lease renewal failed: %s", context.execution_id, exc)

    async def _run(self, record: ExecutionRecord, spec: DurableSpec) -> None:
        context = DurableContext(self, record, spec, record.lease_owner or "")
        self._running[record.execution_id] = context
        heartbeat = asyncio.create_task(self._heartbeat(context))
        token = enter_context(context)
        try:
            outcome = await self._invoke(context, spec)
            await self._settle(context, *outcome)
        except asyncio.CancelledError:
            await self._on_shutdown(context)
            raise
        except LeaseLostError:
            logger.warning("Execution %s: result not written, the lease was lost", record.execution_id)
        except Exception:
            logger.exception("Execution %s: could not record its outcome", record.execution_id)
        finally:
            leave_context(token)
            heartbeat.cancel()
            self._running.pop(record.execution_id, None)

    async def _invoke(self, context: DurableContext, spec: DurableSpec) -> tuple[str, Any]:
        try:
            request = spec.request_model.model_validate(context._record.request)
            if spec.is_async:
                value = await spec.runner(context, request)
            else:
                value = await run_sync(spec.runner, context, request)
            return "completed", spec.dump_result(value)
        except SuspendSignal:
            return "suspended", None
        except RetrySignal as signal:
            return "retry", signal
        except DurableExecutionCancelledError:
            return "canceled", None
        except (LeaseLostError, asyncio.CancelledError):
            raise
        except Exception as exc:
            logger.exception("Execution %s failed", context.execution_id)
            return "failed", exc

    async def _settle(self, context: DurableContext, outcome: str, value: Any) -> None:
        if outcome == "suspended":
            return
        config = self.config

        def mutate(record: ExecutionRecord) -> None:
            self._assert_lease(context, record)
            record.state = context._snapshot_state() if outcome == "retry" else record.state
            if record.cancellation_requested_at is not None or outcome == "canceled":
                self._terminal(record, ExecutionStatus.CANCELED)
            elif outcome == "completed":
                try:
                    self.check_size("result", value)
                except PayloadTooLargeError as exc:
                    record.error = _error("PayloadTooLargeError", str(exc), "payload_too_large")
                    self._terminal(record, ExecutionStatus.FAILED)
                    return
                record.result = value
                self._terminal(record, ExecutionStatus.COMPLETED)
            elif outcome == "retry":
                signal: RetrySignal = value
                record.retries += 1
                self.add_progress(record, signal.message, "retry", {"retry": record.retries})
                if record.retries > config.max_application_retries or record.run_attempts >= config.max_run_attempts:
                    record.error = _error("RetryBudgetExhausted", signal.message, "retries_exhausted")
                    self._terminal(record, ExecutionStatus.FAILED)
                    return
                delay = signal.delay
                if delay is None:
                    delay = min(
                        config.retry_max_delay_seconds, config.retry_base_delay_seconds * 2 ** (record.retries - 1)
                    )
                record.status = ExecutionStatus.QUEUED.value
                record.available_at = now_ms() + int(max(0.0, delay) * 1000)
                record.lease_owner = None
                record.lease_expires_at = None
            else:
                exc: Exception = value
                record.error = _error(type(exc).__name__, "Durable execution failed")
                if isinstance(exc, PayloadTooLargeError):
                    record.error = _error(type(exc).__name__, str(exc), "payload_too_large")
                self._terminal(record, ExecutionStatus.FAILED)

        context._record = await self._call(self._mutate, context.execution_id, mutate)
        if outcome == "retry":
            self._wake.set()

    async def _on_shutdown(self, context: DurableContext) -> None:
        if not self.config.release_running_on_shutdown:
            return  # the lease expires and another worker continues from the last checkpoint

        def release(record: ExecutionRecord) -> None:
            self._assert_lease(context, record)
            record.status = ExecutionStatus.QUEUED.value
            record.lease_owner = None
            record.lease_expires_at = None
            record.run_attempts = max(0, record.run_attempts - 1)
            record.available_at = now_ms()

        with contextlib.suppress(Exception):
            self._mutate(context.execution_id, release)


def _iso_now() -> str:
    from hayhooks.durable.models import iso

    return iso(now_ms()) or ""
