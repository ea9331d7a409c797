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
from typing import Any

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


def links(record: ExecutionRecord, prefix: str = "") -> dict[str, str]:
    base = f"{prefix}/{record.pipeline}/executions/{record.execution_id}"
    return {"self": base, "cancel": f"{base}/cancel", "resume": f"{base}/resume", "stream": f"{base}/stream"}


def project(record: ExecutionRecord, prefix: str = "") -> dict[str, Any]:
    """The execution as clients see it (same shape as Hayhooks 2.1.0)."""
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
        "links": links(record, prefix),
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
