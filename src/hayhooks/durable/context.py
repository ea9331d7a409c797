"""``DurableContext``: what a durable wrapper uses to persist state, report progress, wait for a human, stream.

Every ``*_sync`` method writes to the store right away (compare-and-set under this worker's lease); the async
methods do the same work off the event loop. A context belongs to one attempt of one execution.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hayhooks.durable._threads import run_sync
from hayhooks.durable.errors import (
    DurableExecutionCancelledError,
    PayloadTooLargeError,
    RetrySignal,
    SuspendSignal,
)
from hayhooks.durable.haystack import haystack_target
from hayhooks.durable.models import CheckpointEnvelope, ExecutionRecord, JsonValue, encode

if TYPE_CHECKING:
    from hayhooks.durable.engine import DurableEngine
    from hayhooks.durable.spec import DurableSpec

_current: contextvars.ContextVar[DurableContext | None] = contextvars.ContextVar("hayhooks_durable", default=None)


def current_durable_context() -> DurableContext | None:
    """The context of the durable execution running in this task or thread, else ``None``."""
    return _current.get()


# Hayhooks 2.1.0's names for the signals that unwind a suspended or retried run.
_ExecutionSuspendedError = SuspendSignal
_RetryRequestedError = RetrySignal


@dataclass(frozen=True)
class _ClaimedExecution:
    """An execution this process's engine claimed: the record as claimed, the spec it runs with, and the lease
    token its writes are checked against."""

    engine: DurableEngine
    record: ExecutionRecord
    spec: DurableSpec
    lease_token: str


class DurableContext:
    """Handed to the runner as its first argument. Built from the claim and the checkpoint the attempt starts
    from (``CheckpointEnvelope.of(record)`` when not given); ``adapter`` replaces the spec's Haystack target."""

    def __init__(
        self, claim: _ClaimedExecution, checkpoint: CheckpointEnvelope | None = None, *, adapter: Any | None = None
    ) -> None:
        record = claim.record
        start = checkpoint if checkpoint is not None else CheckpointEnvelope.of(record)
        self._engine = claim.engine
        self._record = record
        self._spec = claim.spec
        self._target = haystack_target(adapter) if adapter is not None else claim.spec.target
        self._lease_token = claim.lease_token
        self._state: dict[str, Any] = copy.deepcopy(start.application_state)
        self._resume_input = copy.deepcopy(start.resume_input)
        self._pipeline_calls = 0
        self.cancel_requested = record.cancellation_requested_at is not None
        self.lease_lost = False

    # --- read-only facts -----------------------------------------------------------------------------------
    @property
    def execution_id(self) -> str:
        return self._record.execution_id

    @property
    def owner_id(self) -> str | None:
        return self._record.owner_id

    @property
    def attempt(self) -> int:
        return self._record.attempt

    @property
    def state(self) -> dict[str, Any]:
        """Your own JSON state: saved by ``checkpoint`` and ``suspend``, restored on the next attempt."""
        return self._state

    @property
    def resume_input(self) -> JsonValue:
        """The (validated) JSON body of the last ``POST .../resume``, or ``None`` before any resume."""
        return self._resume_input

    def take_resume_input(self) -> JsonValue:
        """Return the resume input and forget it, so a later ``suspend`` waits for a new one."""
        value, self._resume_input = self._resume_input, None
        return value

    # --- writes --------------------------------------------------------------------------------------------
    def _update(self, mutate: Any) -> ExecutionRecord:
        record = self._engine.write_under_lease(self, mutate)
        self._record = record
        return record

    def _snapshot_state(self) -> dict[str, Any]:
        try:
            state = json.loads(encode(self._state))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"context.state must hold JSON values only: {exc}") from None
        self._engine.check_size("state", state)
        return state

    def checkpoint_sync(
        self, adapter_checkpoint: JsonValue = None, *, _progress: tuple[str, str] | None = None
    ) -> None:
        """Persist ``state`` (and an optional JSON checkpoint): a later attempt starts from here."""
        self._update(self._checkpoint_change(adapter_checkpoint, _progress))

    def _checkpoint_change(self, adapter_checkpoint: JsonValue, progress: tuple[str, str] | None) -> Any:
        state = self._snapshot_state()
        if adapter_checkpoint is not None:
            self._engine.check_size("checkpoint", adapter_checkpoint)

        def mutate(record: ExecutionRecord) -> None:
            record.state = state
            if adapter_checkpoint is not None:
                record.checkpoint = adapter_checkpoint
            if progress is not None:
                self._engine.add_progress(record, progress[0], progress[1], None)

        return mutate

    def report_progress_sync(
        self, message: str, *, kind: str = "progress", metadata: Mapping[str, object] | None = None
    ) -> None:
        """Add a progress event (clients see the newest ``HAYHOOKS_DURABLE_MAX_PROGRESS_EVENTS``)."""
        self._update(lambda record: self._engine.add_progress(record, message, kind, metadata))

    def check_cancelled_sync(self) -> None:
        """Raise ``DurableExecutionCancelledError`` if a cancel was requested; call it between steps."""
        if not self.cancel_requested:
            self.cancel_requested = self._engine.cancel_was_requested(self.execution_id)
        self._raise_if_cancelled()

    def _raise_if_cancelled(self) -> None:
        if self.cancel_requested:
            raise DurableExecutionCancelledError(f"Execution {self.execution_id} was canceled")

    def retry_sync(self, message: str, *, delay: float | None = None) -> None:
        """End this attempt and run again later (bounded by ``HAYHOOKS_DURABLE_MAX_APPLICATION_RETRIES``)."""
        self._snapshot_state()
        raise RetrySignal(message, delay)

    def suspend_sync(
        self,
        wait: Mapping[str, object],
        *,
        update: Mapping[str, object] | None = None,
        adapter_checkpoint: JsonValue = None,
    ) -> None:
        """Wait for a human: status ``waiting`` with ``wait`` shown to clients, until ``POST .../resume``."""
        self._update(self._suspend_change(wait, update, adapter_checkpoint))
        raise SuspendSignal()

    def _suspend_change(
        self, wait: Mapping[str, object], update: Mapping[str, object] | None, adapter_checkpoint: JsonValue
    ) -> Any:
        if update:
            self._state.update(update)
        state = self._snapshot_state()
        waiting = json.loads(encode(dict(wait)))
        self._engine.check_size("waiting", waiting)

        def mutate(record: ExecutionRecord) -> None:
            record.state = state
            if adapter_checkpoint is not None:
                record.checkpoint = adapter_checkpoint
            self._engine.settle_suspend(record, waiting)

        return mutate

    def stream_chunk_sync(self, payload: object) -> None:
        """Append a chunk to the execution's stream (``GET .../stream``), outside the lifecycle writes."""
        text = encode({"attempt": self.attempt, "payload": payload})
        limit = self._engine.config.max_stream_chunk_bytes
        if len(text.encode()) > limit:
            raise PayloadTooLargeError(f"stream chunk is over HAYHOOKS_DURABLE_MAX_STREAM_CHUNK_BYTES ({limit})")
        self._engine.append_chunk(self, payload)

    def run_pipeline(self, data: dict[str, Any], *, checkpoint_at: str | list[str] | None = None) -> dict[str, Any]:
        """Run the wrapper's Haystack pipeline, saving a snapshot before each component in ``checkpoint_at``;
        a later attempt resumes from the last snapshot instead of starting over."""
        from hayhooks.durable.haystack_runs import run_pipeline_with_checkpoints

        self._pipeline_calls += 1
        return run_pipeline_with_checkpoints(self, self._target, data, checkpoint_at, self._pipeline_calls)

    def run_agent(self, *, messages: list[Any], **kwargs: Any) -> dict[str, Any]:
        """Run the wrapper's Haystack ``Agent`` with ``messages``."""
        from hayhooks.durable.haystack_runs import run_agent

        return run_agent(self._target, messages, kwargs)

    # --- async variants ------------------------------------------------------------------------------------
    # With a store that does its own async I/O (Redis), the writes are awaited on the event loop; otherwise the
    # synchronous method runs as one piece (inline for the memory store, else on a worker thread).
    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._engine.store.blocking:
            return fn(*args, **kwargs)
        return await run_sync(fn, *args, **kwargs)

    async def _aupdate(self, mutate: Any) -> None:
        self._record = await self._engine.awrite_under_lease(self, mutate)

    async def checkpoint(self, adapter_checkpoint: JsonValue = None) -> None:
        if self._engine.store.native_async:
            await self._aupdate(self._checkpoint_change(adapter_checkpoint, None))
            return
        await self._call(self.checkpoint_sync, adapter_checkpoint)

    async def report_progress(
        self, message: str, *, kind: str = "progress", metadata: Mapping[str, object] | None = None
    ) -> None:
        if self._engine.store.native_async:
            await self._aupdate(lambda record: self._engine.add_progress(record, message, kind, metadata))
            return
        await self._call(self.report_progress_sync, message, kind=kind, metadata=metadata)

    async def check_cancelled(self) -> None:
        if not self._engine.store.native_async:
            await self._call(self.check_cancelled_sync)
            return
        if not self.cancel_requested:
            record = await self._engine.store.aget(self.execution_id)
            self.cancel_requested = record is not None and record.cancellation_requested_at is not None
        self._raise_if_cancelled()

    async def retry(self, message: str, *, delay: float | None = None) -> None:
        self.retry_sync(message, delay=delay)

    async def suspend(
        self,
        wait: Mapping[str, object],
        *,
        update: Mapping[str, object] | None = None,
        adapter_checkpoint: JsonValue = None,
    ) -> None:
        if not self._engine.store.native_async:
            await self._call(self.suspend_sync, wait, update=update, adapter_checkpoint=adapter_checkpoint)
            return
        await self._aupdate(self._suspend_change(wait, update, adapter_checkpoint))
        raise SuspendSignal()

    async def stream_chunk(self, payload: object) -> None:
        await self._call(self.stream_chunk_sync, payload)

    async def run_pipeline_async(
        self, data: dict[str, Any], *, checkpoint_at: str | list[str] | None = None
    ) -> dict[str, Any]:
        return await run_sync(self.run_pipeline, data, checkpoint_at=checkpoint_at)

    async def run_agent_async(self, *, messages: list[Any], **kwargs: Any) -> dict[str, Any]:
        return await run_sync(self.run_agent, messages=messages, **kwargs)

    def __repr__(self) -> str:
        return f"DurableContext(execution_id={self.execution_id!r}, attempt={self.attempt})"


@contextlib.contextmanager
def durable_context_scope(context: DurableContext) -> Iterator[DurableContext]:
    """Make ``context`` what ``current_durable_context()`` returns inside the ``with`` block."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def enter_context(context: DurableContext) -> contextvars.Token:
    return _current.set(context)


def leave_context(token: contextvars.Token) -> None:
    _current.reset(token)


def durable_streaming_callback(payload: object) -> None:
    """A Haystack ``streaming_callback`` that appends each chunk to the current durable execution's stream.

    Outside a durable execution it does nothing. ``StreamingChunk`` objects become ``{"content": ..., ...}``.
    """
    context = _current.get()
    if context is None:
        return
    context.stream_chunk_sync(_chunk_payload(payload))


def _chunk_payload(payload: object) -> Any:
    content = getattr(payload, "content", None)
    if content is None and not hasattr(payload, "component_info"):
        return payload
    data: dict[str, Any] = {"content": content or ""}
    info = getattr(payload, "component_info", None)
    if info is not None and getattr(info, "name", None):
        data["component"] = info.name
    if getattr(payload, "finish_reason", None):
        data["finish_reason"] = payload.finish_reason  # type: ignore[attr-defined]
    return data
