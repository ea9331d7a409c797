"""Hayhooks 2.1.0's names for the state changes of an execution, importable from ``hayhooks.durable.engine``.

2.1.0's engine is a state machine over a ``ExecutionControl`` record: a worker or a client sends a command
(``Claim``, ``Heartbeat``, ``Checkpoint``, ``Suspend``, ``Complete`` ...), ``decide`` turns it into a
``TransitionPlan``, and its store applies the plan. Our engine has no command layer: each change is a function of
``DurableEngine`` that compare-and-sets an ``ExecutionRecord`` (see ``engine.py`` and ``workers.py``).

These records keep 2.1.0's names and fields so that code written against its internals still imports (Hayhooks'
own test suite imports them in its ``conftest.py``); they describe a change, they do not perform one. ``decide``
and ``submission_plan`` say so when called. ``docs/migrating-from-hayhooks.md`` lists these names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from hayhooks.durable.claim import Claim, PayloadKind
from hayhooks.durable.models import ExecutionStatus

_NO_COMMANDS = (
    "Hayhooks 2.1.0's internal command engine is not part of this server: durable executions change through "
    "hayhooks.durable.DurableEngine (or DurableDeployment for your own FastAPI app). "
    "See docs/migrating-from-hayhooks.md."
)


@dataclass(frozen=True)
class ExecutionControl:
    """2.1.0's control record of an execution (ours is ``hayhooks.durable.models.ExecutionRecord``)."""

    run_id: str
    idempotency_digest: str
    idempotency_binding_digest: str
    deployment: str
    definition_revision: str
    owner_id: str | None
    kind: str
    schema_version: int = 1
    status: ExecutionStatus = ExecutionStatus.QUEUED
    version: int = 1
    fence: int = 0
    run_attempt: int = 0
    lease_recoveries: int = 0
    application_retry_count: int = 0
    available_at_ms: int | None = None
    lease_owner: str | None = None
    lease_expires_at_ms: int | None = None
    cancel_requested_at_ms: int | None = None
    cancel_reason: str | None = None
    progress_sequence: int = 0
    created_at_ms: int = 0
    updated_at_ms: int = 0


@dataclass(frozen=True)
class PayloadWrite:
    kind: PayloadKind
    data: bytes


@dataclass(frozen=True)
class ProgressEvent:
    sequence: int
    data: bytes


@dataclass(frozen=True)
class LeaseIndexUpdate:
    deadline_ms: int | None
    fence: int


@dataclass(frozen=True)
class TransitionPlan:
    next_control: ExecutionControl
    payload_writes: tuple[PayloadWrite, ...] = ()
    payload_deletes: tuple[PayloadKind, ...] = ()
    progress_events: tuple[ProgressEvent, ...] = ()
    lease_index_update: LeaseIndexUpdate | None = None
    discard_progress: bool = False


@dataclass(frozen=True)
class ReleaseClaim:
    fence: int
    worker_id: str
    now_ms: int = 0
    lease_commit_safety_ms: int = 0


@dataclass(frozen=True)
class Heartbeat:
    fence: int
    worker_id: str
    now_ms: int
    lease_duration_ms: int
    lease_commit_safety_ms: int = 0


@dataclass(frozen=True)
class Checkpoint:
    fence: int
    worker_id: str
    now_ms: int
    lease_duration_ms: int
    checkpoint: bytes
    progress_events: tuple[bytes, ...] = ()
    lease_commit_safety_ms: int = 0
    first_progress_sequence: int | None = None


@dataclass(frozen=True)
class RequestCancellation:
    now_ms: int
    reason: str | None


@dataclass(frozen=True)
class ScheduleRetry:
    fence: int
    worker_id: str
    now_ms: int
    delay_ms: int
    max_application_retries: int
    error: bytes
    progress_events: tuple[bytes, ...] = ()
    lease_commit_safety_ms: int = 0
    exhausted_error: bytes | None = None
    first_progress_sequence: int | None = None


@dataclass(frozen=True)
class Suspend:
    fence: int
    worker_id: str
    now_ms: int
    checkpoint: bytes
    wait: bytes
    progress_events: tuple[bytes, ...] = ()
    lease_commit_safety_ms: int = 0
    first_progress_sequence: int | None = None


@dataclass(frozen=True)
class Resume:
    now_ms: int
    worker_revision: str
    checkpoint: bytes
    expected_version: int | None = None


@dataclass(frozen=True)
class Complete:
    fence: int
    worker_id: str
    now_ms: int
    result: bytes
    progress_events: tuple[bytes, ...] = ()
    lease_commit_safety_ms: int = 0
    first_progress_sequence: int | None = None


@dataclass(frozen=True)
class Fail:
    fence: int
    worker_id: str
    now_ms: int
    error: bytes
    progress_events: tuple[bytes, ...] = ()
    lease_commit_safety_ms: int = 0
    first_progress_sequence: int | None = None
    discard_progress: bool = False


@dataclass(frozen=True)
class RecoverExpiredLease:
    now_ms: int
    indexed_fence: int
    indexed_deadline_ms: int
    max_run_attempts: int
    attempts_error: bytes


ExecutionCommand = (
    Claim
    | ReleaseClaim
    | Heartbeat
    | Checkpoint
    | RequestCancellation
    | ScheduleRetry
    | Suspend
    | Resume
    | Complete
    | Fail
    | RecoverExpiredLease
)


def initial_control(
    *,
    run_id: str,
    idempotency_digest: str,
    idempotency_binding_digest: str,
    deployment: str,
    definition_revision: str,
    owner_id: str | None,
    kind: str,
    now_ms: int,
) -> ExecutionControl:
    """The control record of a newly submitted execution: queued, due now."""
    return ExecutionControl(
        run_id=run_id,
        idempotency_digest=idempotency_digest,
        idempotency_binding_digest=idempotency_binding_digest,
        deployment=deployment,
        definition_revision=definition_revision,
        owner_id=owner_id,
        kind=kind,
        available_at_ms=now_ms,
        created_at_ms=now_ms,
        updated_at_ms=now_ms,
    )


def decide(control: ExecutionControl, command: ExecutionCommand) -> NoReturn:
    raise NotImplementedError(_NO_COMMANDS)


def submission_plan(control: ExecutionControl, input_payload: bytes) -> NoReturn:
    raise NotImplementedError(_NO_COMMANDS)
