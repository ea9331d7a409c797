"""What a worker asks for when it takes an execution (``Claim``), and the payloads an execution carries."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from hayhooks.durable.models import ExecutionRecord, JsonValue

_FIELDS = {"input": "request", "checkpoint": "checkpoint", "result": "result", "error": "error", "wait": "waiting"}


class PayloadKind(str, Enum):
    """The JSON payloads of an execution record: its request, checkpoint, result, error and what it waits for."""

    INPUT = "input"
    CHECKPOINT = "checkpoint"
    RESULT = "result"
    ERROR = "error"
    WAIT = "wait"

    @property
    def field(self) -> str:
        """The ``ExecutionRecord`` attribute holding this payload."""
        return _FIELDS[self.value]

    def read(self, record: ExecutionRecord) -> JsonValue:
        return getattr(record, self.field)


@dataclass(frozen=True)
class Claim:
    """One worker's request to take a due execution: who asks, when, for how long, with which revision of the
    code, how many attempts an execution may use, and the error (encoded JSON) written when they are used up."""

    worker_id: str
    now_ms: int
    lease_duration_ms: int
    max_run_attempts: int
    worker_revision: str
    attempts_error: bytes

    @property
    def lease_expires_at(self) -> int:
        return self.now_ms + self.lease_duration_ms

    def exhausted(self, record: ExecutionRecord) -> bool:
        return record.run_attempts >= self.max_run_attempts
