"""Durable executions: pipeline and agent runs that outlive the request, the process and the deploy.

A wrapper opts in with ``durable_revision`` and ``run_durable`` / ``run_durable_async(self, context, request)``;
see ``docs/durable-runs.md``.
"""

from hayhooks.durable.config import DurableConfig
from hayhooks.durable.context import (
    DurableContext,
    current_durable_context,
    durable_context_scope,
    durable_streaming_callback,
)
from hayhooks.durable.engine import DurableEngine, InvalidTransitionError
from hayhooks.durable.errors import (
    CapacityError,
    DurableExecutionCancelledError,
    IdempotencyConflictError,
    PayloadTooLargeError,
    StoreUnavailableError,
)
from hayhooks.durable.models import ExecutionRecord, ExecutionStatus
from hayhooks.durable.spec import DurableSpec, DurableSpecError, build_spec, is_durable
from hayhooks.durable.stores import ExecutionStore, MemoryExecutionStore, SQLiteExecutionStore, create_store

__all__ = [
    "CapacityError",
    "DurableConfig",
    "DurableContext",
    "DurableEngine",
    "DurableExecutionCancelledError",
    "DurableSpec",
    "DurableSpecError",
    "ExecutionRecord",
    "ExecutionStatus",
    "ExecutionStore",
    "IdempotencyConflictError",
    "InvalidTransitionError",
    "MemoryExecutionStore",
    "PayloadTooLargeError",
    "SQLiteExecutionStore",
    "StoreUnavailableError",
    "build_spec",
    "create_store",
    "current_durable_context",
    "durable_context_scope",
    "durable_streaming_callback",
    "is_durable",
]
