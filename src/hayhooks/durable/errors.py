"""Errors of durable execution: control flow of a run, and store failures the HTTP layer maps to statuses."""

from __future__ import annotations


class DurableExecutionCancelledError(Exception):
    """Raised by ``check_cancelled`` once a cancel was requested; the execution ends as ``canceled``."""


class DurableControlSignal(BaseException):
    """Unwinds a run on purpose (suspend, retry, lost lease). A ``BaseException`` so user ``except Exception``
    blocks do not swallow it."""


class SuspendSignal(DurableControlSignal):
    pass


class RetrySignal(DurableControlSignal):
    def __init__(self, message: str, delay: float | None) -> None:
        super().__init__(message)
        self.message = message
        self.delay = delay


class LeaseLostError(DurableControlSignal):
    """Another worker owns the execution now (this one was too slow to renew its lease)."""


class StoreUnavailableError(Exception):
    """The execution store cannot be reached."""


class IdempotencyConflictError(Exception):
    """The idempotency key was used before with a different request."""


class CapacityError(Exception):
    """Too many unfinished executions, or a payload over its size cap."""


class PayloadTooLargeError(ValueError):
    """A request, result, checkpoint, progress event or stream chunk is over its configured size cap."""


class ExecutionNotFoundError(KeyError):
    """No execution with this id in this deployment (or it belongs to another owner)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "execution not found"


class ExecutionAdmissionError(RuntimeError):
    """The deployment takes no new executions: it was not started yet, or it was closed (HTTP 503)."""


class ChunkCursorExpiredError(LookupError):
    """A stream cursor older than the oldest chunk still kept (``max_stream_chunks``)."""


# Hayhooks 2.1.0's names for the same errors.
ExecutionLeaseLostError = LeaseLostError
ExecutionPayloadSizeError = PayloadTooLargeError
ExecutionIdempotencyConflictError = IdempotencyConflictError
