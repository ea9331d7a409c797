"""The worker side of the engine: claim due executions, run them under a renewed lease, record the outcome.

A loop claims a due execution (queued, or running with an expired lease: its worker died) by compare-and-set,
renews the lease every third of its duration while the wrapper runs, and writes the outcome only while it
still holds the lease, so a result is written once even when two workers raced.

With a store doing its own async I/O (Redis), the claim is awaited on the event loop, and the read of the next
due records goes out with the outcome write of the previous execution (one round trip for both: a speed trick,
see the Redis store's docstring for what it saves). Those records are only candidates: each claim is still a
compare-and-set, and a loop that finds nothing in them reads again before it waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Collection, Iterable
from typing import Any

from hayhooks.durable._threads import run_sync
from hayhooks.durable.context import DurableContext, _ClaimedExecution, enter_context, leave_context
from hayhooks.durable.errors import (
    DurableExecutionCancelledError,
    LeaseLostError,
    PayloadTooLargeError,
    RetrySignal,
    SuspendSignal,
)
from hayhooks.durable.models import ExecutionRecord, ExecutionStatus, error_body, now_ms
from hayhooks.durable.spec import DurableSpec

logger = logging.getLogger("hayhooks.durable")

CLAIM_ROUNDS = 3


class WorkerLoops:
    """Mixed into ``DurableEngine``: everything that runs on this process's worker tasks."""

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
            await asyncio.wait_for(self.wait_idle(), timeout=grace)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()
        self.started = False
        with contextlib.suppress(Exception):
            await self.store.aclose()

    async def wait_idle(self) -> None:
        """Return once no execution runs in this process."""
        while self._running:
            await asyncio.sleep(0.05)

    async def _maintenance_loop(self) -> None:
        while not self._stopping:
            if not self._names():  # no durable pipeline here: never touch (or create) the store
                await asyncio.sleep(self.config.maintenance_interval_seconds)
                continue
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
        upcoming: Iterable[ExecutionRecord] | None = None  # due records read along with the last outcome
        while not self._stopping:
            self._wake.clear()  # before reading: a submit from here on ends the wait below at once
            try:
                claimed = await self._aclaim_next(upcoming)
            except Exception as exc:
                logger.warning("Durable store unavailable while claiming work: %s", exc)
                claimed = None
            upcoming = None
            if claimed is None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.config.poll_interval_seconds)
                continue
            record, spec = claimed
            if spec is None:  # failed at claim time (budget or revision): already written
                continue
            upcoming = await self._run(record, spec)

    def _claim_next(self, names: Collection[str]) -> tuple[ExecutionRecord, DurableSpec | None] | None:
        """Claim on a worker thread, for stores without their own async I/O: reads stop at the first win."""
        now = now_ms()
        for execution_id in self.store.claimable(names, now, 16):
            if execution_id in self._running:
                continue
            record = self.store.get(execution_id)
            plan = None if record is None else self._claim_plan(record, now)
            if plan is not None and self.store.compare_and_set(record, plan[0]):
                return self._claimed(record, plan[1], plan[2])
        return None

    async def _aclaim_next(
        self, upcoming: Iterable[ExecutionRecord] | None = None
    ) -> tuple[ExecutionRecord, DurableSpec | None] | None:
        """Claim from the event loop: the due records come in one round trip (or were read along with the last
        outcome: ``upcoming``), each attempt is one more."""
        names = self._names()
        if not names:  # nothing durable deployed: no store read, no worker-thread hop
            return None
        if not self.store.native_async:
            return await self._call(self._claim_next, names)
        for _ in range(CLAIM_ROUNDS):
            fresh = upcoming is None
            records = await self._candidates(names) if upcoming is None else upcoming
            upcoming = None
            now = now_ms()
            lost = False
            for record in records:
                plan = self._claim_plan(record, now)
                if plan is None:
                    continue
                if await self.store.acompare_and_set(record, plan[0]):
                    return self._claimed(record, plan[1], plan[2])
                lost = True
            if fresh and not lost:  # read now and nothing to take (a read made earlier may be out of date)
                return None
        return None

    async def _candidates(self, names: Collection[str] | None = None) -> Iterable[ExecutionRecord]:
        batch = min(16, self.config.worker_concurrency + 1)  # enough for every loop of this process to find one
        return await self.store.acandidates(names or self._names(), now_ms(), batch, list(self._running))

    def _claim_plan(self, record: ExecutionRecord, now: int) -> tuple[int, DurableSpec | None, bool] | None:
        """Turn ``record`` into what this worker writes when it claims it: ``(version to replace, spec, taken over
        from an expired lease)``, the spec ``None`` when the claim only records a failure; ``None``: not ours."""
        due = record.status == "queued" and record.available_at <= now
        expired = record.status == "running" and (record.lease_expires_at or 0) < now
        spec = self._resolve(record.pipeline, record.kind)
        if not (due or expired) or spec is None:
            return None
        lease = self.config.lease_duration_ms
        expected = record.version
        failure = None
        if record.run_attempts >= self.config.max_run_attempts:
            failure = error_body(
                "AttemptsExhausted",
                f"Execution stopped after {record.run_attempts} attempts without finishing "
                "(HAYHOOKS_DURABLE_MAX_RUN_ATTEMPTS)",
                "attempts_exhausted",
            )
        elif record.revision != spec.revision:
            if record.created_at > spec.deployed_at * 1000 and now - record.created_at < lease:
                # Submitted after this process deployed its version: another worker or instance serves that
                # revision (a deploy is rolling out). Leave it to them for a while before calling it a mismatch.
                return None
            failure = error_body(
                "RevisionMismatch",
                f"Execution started on revision '{record.revision}' but pipeline '{record.pipeline}' now runs "
                f"revision '{spec.revision}'; it is not continued on different code",
                "revision_mismatch",
            )
        record.version += 1
        record.updated_at = now
        if failure is not None:
            record.error = failure
            self._terminal(record, ExecutionStatus.FAILED)
            return expected, None, expired
        if record.cancellation_requested_at is not None:
            self._terminal(record, ExecutionStatus.CANCELED)
            return expected, None, expired
        record.status = ExecutionStatus.RUNNING.value
        record.attempt += 1
        record.run_attempts += 1
        record.lease_owner = f"{self.worker}/{uuid.uuid4().hex[:8]}"
        record.lease_expires_at = now + lease
        return expected, spec, expired

    def _claimed(
        self, record: ExecutionRecord, spec: DurableSpec | None, expired: bool
    ) -> tuple[ExecutionRecord, DurableSpec | None]:
        if spec is None:  # failed at claim time (budget, revision or cancel): already written
            return record, None
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
                context._record = await self.awrite_under_lease(context, renew)
            except LeaseLostError:
                logger.warning("Execution %s: lease lost; another worker may take it over", context.execution_id)
                return
            except Exception as exc:  # store briefly unreachable: try again on the next beat
                logger.warning("Execution %s: lease renewal failed: %s", context.execution_id, exc)

    async def _run(self, record: ExecutionRecord, spec: DurableSpec) -> Iterable[ExecutionRecord] | None:
        """Run one claimed execution to its outcome; returns the due records read along with the outcome."""
        context = DurableContext(_ClaimedExecution(self, record, spec, record.lease_owner or ""))
        self._running[record.execution_id] = context
        heartbeat = asyncio.create_task(self._heartbeat(context))
        token = enter_context(context)
        try:
            outcome = await self._invoke(context, spec)
            return await self._settle(context, *outcome)
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

    async def _settle(self, context: DurableContext, outcome: str, value: Any) -> Iterable[ExecutionRecord] | None:
        if outcome == "suspended":
            return None
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
                    record.error = error_body("PayloadTooLargeError", str(exc), "payload_too_large")
                    self._terminal(record, ExecutionStatus.FAILED)
                    return
                record.result = value
                self._terminal(record, ExecutionStatus.COMPLETED)
            elif outcome == "retry":
                signal: RetrySignal = value
                record.retries += 1
                self.add_progress(record, signal.message, "retry", {"retry": record.retries})
                if record.retries > config.max_application_retries or record.run_attempts >= config.max_run_attempts:
                    record.error = error_body("RetryBudgetExhausted", signal.message, "retries_exhausted")
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
                record.error = error_body(type(exc).__name__, "Durable execution failed")
                if isinstance(exc, PayloadTooLargeError):
                    record.error = error_body(type(exc).__name__, str(exc), "payload_too_large")
                self._terminal(record, ExecutionStatus.FAILED)

        settle = self._amutate(context.execution_id, mutate, context._record)
        if not self.store.native_async or outcome == "retry":
            context._record = await settle
            if outcome == "retry":
                self._wake.set()
            return None
        # The next claim's read goes out while this write is on its way (same connection, executed after it).
        reading = asyncio.ensure_future(self._candidates())
        try:
            context._record = await settle
        except BaseException:
            reading.cancel()
            raise
        try:
            return await reading
        except Exception:  # the next claim reads again
            return None

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
