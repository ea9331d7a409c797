"""What a durable execution is: its status, the stored record and the JSON clients see."""

from __future__ import annotations

import copy
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, Field

from hayhooks.durable.errors import PayloadTooLargeError

JsonValue = Any


class ExecutionStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELED})
NONTERMINAL_VALUES = ("queued", "running", "waiting")


def now_ms() -> int:
    return int(time.time() * 1000)


def new_execution_id() -> str:
    return uuid.uuid4().hex


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    stamp = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond:06d}Z"


def encode(value: JsonValue) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def fingerprint(value: JsonValue) -> str:
    """Digest of a request body, to tell a replay of an idempotent request from different work."""
    return hashlib.sha256(encode(value).encode()).hexdigest()


@dataclass
class ExecutionRecord:
    """One execution as stored. ``version`` changes on every write; writers compare-and-set on it."""

    execution_id: str
    pipeline: str
    revision: str
    owner_id: str | None
    request: JsonValue
    kind: str = "pipeline"
    status: str = ExecutionStatus.QUEUED.value
    attempt: int = 0
    retries: int = 0
    run_attempts: int = 0  # claims since the last resume: what the attempt budget counts
    version: int = 1
    progress: list[dict[str, Any]] = field(default_factory=list)
    progress_count: int = 0
    result: JsonValue = None
    error: dict[str, Any] | None = None
    waiting: dict[str, Any] | None = None
    resume_input: JsonValue = None
    has_resume_input: bool = False
    state: dict[str, Any] = field(default_factory=dict)
    checkpoint: JsonValue = None
    cancellation_requested_at: int | None = None
    cancellation_reason: str | None = None
    idempotency_key: str | None = None
    request_fingerprint: str | None = None
    lease_owner: str | None = None
    lease_expires_at: int | None = None
    available_at: int = 0
    created_at: int = field(default_factory=now_ms)
    updated_at: int = field(default_factory=now_ms)
    expires_at: int | None = None

    @property
    def status_enum(self) -> ExecutionStatus:
        return ExecutionStatus(self.status)

    @property
    def terminal(self) -> bool:
        return self.status_enum.terminal

    def to_json(self) -> str:
        # Not dataclasses.asdict: it deep-copies every nested value, which costs more than the encoding itself.
        return json.dumps({name: getattr(self, name) for name in _FIELDS}, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> ExecutionRecord:
        return cls(**json.loads(text))

    def copy(self) -> ExecutionRecord:
        """A copy to change and write. Writers replace fields whole, except ``progress``, which they append to:
        so the other fields are shared and that list copied (a JSON round trip cost ten times more)."""
        twin = copy.copy(self)
        twin.progress = list(self.progress)
        return twin


def error_body(kind: str, message: str, code: str | None = None, retryable: bool = False) -> dict[str, Any]:
    """The ``error`` of a failed execution, as clients see it."""
    return {"type": kind, "message": message, "retryable": retryable, "code": code}


_FIELDS = tuple(f.name for f in fields(ExecutionRecord))


def execution_path(record: ExecutionRecord, base: str) -> str:
    """Where an execution lives: ``{base}/executions/{id}``; ``base`` is e.g. ``/{pipeline}`` or a router prefix."""
    return f"{base}/executions/{record.execution_id}"


def links(record: ExecutionRecord, base: str) -> dict[str, str]:
    path = execution_path(record, base)
    return {"self": path, "cancel": f"{path}/cancel", "resume": f"{path}/resume", "stream": f"{path}/stream"}


def project(record: ExecutionRecord, base: str) -> dict[str, Any]:
    """The execution as clients see it (same shape as Hayhooks 2.1.0), its links under ``base``."""
    return {
        "execution_id": record.execution_id,
        "status": record.status,
        "attempt": record.attempt,
        "sequence": record.version,
        "progress": list(record.progress),
        "result": record.result,
        "error": record.error,
        "waiting": record.waiting,
        "cancellation_requested_at": iso(record.cancellation_requested_at),
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "links": links(record, base),
    }


def summarize(record: ExecutionRecord) -> dict[str, Any]:
    """One line of the execution list."""
    return {
        "execution_id": record.execution_id,
        "deployment": record.pipeline,
        "kind": record.kind,
        "revision": record.revision,
        "status": record.status,
        "attempt": record.attempt,
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "cancellation_pending": record.cancellation_requested_at is not None and not record.terminal,
        "available_at": iso(record.available_at) if record.status == ExecutionStatus.QUEUED.value else None,
    }


@dataclass(frozen=True)
class Chunk:
    """One entry of an execution's stream log. ``chunk_id`` is ``<milliseconds>-<sequence>``."""

    chunk_id: str
    attempt: int
    payload: JsonValue


def parse_cursor(cursor: str) -> tuple[int, int]:
    """``(milliseconds, sequence)`` of a ``Last-Event-ID``; ``ValueError`` when it is not ``<time>-<sequence>``."""
    head, sep, tail = cursor.strip().partition("-")
    if not sep or not head.isdigit() or not tail.isdigit():
        raise ValueError("chunk cursor must be a '<time>-<sequence>' ID")
    return int(head), int(tail)


class ExecutionKind(str, Enum):
    """What a durable execution runs: a pipeline (any runner) or a Haystack agent."""

    PIPELINE = "pipeline"
    AGENT = "agent"


class CheckpointEnvelope(BaseModel):
    """What an attempt starts from: the saved checkpoint and state of an execution, and its resume input.

    ``CheckpointEnvelope.of(record)`` reads it from a stored execution; ``DurableContext`` is built from one."""

    schema_version: Literal[1] = 1
    adapter_kind: ExecutionKind = ExecutionKind.PIPELINE
    adapter_checkpoint: JsonValue = None
    application_state: dict[str, JsonValue] = Field(default_factory=dict)
    resume_input: JsonValue = None

    @classmethod
    def of(cls, record: ExecutionRecord) -> CheckpointEnvelope:
        kind = ExecutionKind.AGENT if record.kind == ExecutionKind.AGENT.value else ExecutionKind.PIPELINE
        return cls(
            adapter_kind=kind,
            adapter_checkpoint=record.checkpoint,
            application_state=record.state,
            resume_input=record.resume_input if record.has_resume_input else None,
        )


def encode_json(value: object, *, max_bytes: int, canonical: bool = False) -> bytes:
    """``value`` as compact UTF-8 JSON (keys sorted when ``canonical``); ``ValueError`` for NaN/infinity or when
    the encoding is over ``max_bytes`` (a ``PayloadTooLargeError``)."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=canonical, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a JSON value: {exc}") from None
    data = text.encode()
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"JSON value is {len(data)} bytes, over the limit of {max_bytes}")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode_json(payload: bytes, *, max_bytes: int) -> JsonValue:
    """The JSON value in ``payload`` (UTF-8); ``ValueError`` for invalid JSON, NaN/infinity, or over ``max_bytes``."""
    if len(payload) > max_bytes:
        raise PayloadTooLargeError(f"JSON payload is {len(payload)} bytes, over the limit of {max_bytes}")
    try:
        return json.loads(payload.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise ValueError(f"JSON payload is not UTF-8: {exc}") from None
