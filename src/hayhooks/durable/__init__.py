"""Durable executions: pipeline and agent runs that outlive the request, the process and the deploy.

A wrapper opts in with ``durable_revision`` and ``run_durable`` / ``run_durable_async(self, context, request)``;
an application of your own embeds them with ``DurableDeployment``, ``DurableRuntime`` and
``create_durable_router`` (imported on first use). See ``docs/durable-runs.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hayhooks.durable.config import DurableConfig, RuntimeConfig, StoreConfig
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
    ExecutionAdmissionError,
    ExecutionNotFoundError,
    IdempotencyConflictError,
    PayloadTooLargeError,
    StoreUnavailableError,
)
from hayhooks.durable.models import ExecutionKind, ExecutionRecord, ExecutionStatus
from hayhooks.durable.spec import DurableSpec, DurableSpecError, build_spec, is_durable
from hayhooks.durable.stores import ExecutionStore, MemoryExecutionStore, SQLiteExecutionStore, create_store

if TYPE_CHECKING:
    from hayhooks.durable.fastapi import OwnerIdDependency, create_durable_router
    from hayhooks.durable.runtime import DurableDeployment, DurableRuntime, SubmissionResult
    from hayhooks.durable.stores.redis import RedisExecutionStore

# Names whose modules pull in FastAPI routing or the runtime: imported when first asked for.
_LAZY = {
    "DurableDeployment": "hayhooks.durable.runtime",
    "DurableRuntime": "hayhooks.durable.runtime",
    "SubmissionResult": "hayhooks.durable.runtime",
    "OwnerIdDependency": "hayhooks.durable.fastapi",
    "create_durable_router": "hayhooks.durable.fastapi",
    "RedisExecutionStore": "hayhooks.durable.stores.redis",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hayhooks.durable' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "CapacityError",
    "DurableConfig",
    "DurableContext",
    "DurableDeployment",
    "DurableEngine",
    "DurableExecutionCancelledError",
    "DurableRuntime",
    "DurableSpec",
    "DurableSpecError",
    "ExecutionAdmissionError",
    "ExecutionKind",
    "ExecutionNotFoundError",
    "ExecutionRecord",
    "ExecutionStatus",
    "ExecutionStore",
    "IdempotencyConflictError",
    "InvalidTransitionError",
    "MemoryExecutionStore",
    "OwnerIdDependency",
    "PayloadTooLargeError",
    "RedisExecutionStore",
    "RuntimeConfig",
    "SQLiteExecutionStore",
    "StoreConfig",
    "StoreUnavailableError",
    "SubmissionResult",
    "build_spec",
    "create_durable_router",
    "create_store",
    "current_durable_context",
    "durable_context_scope",
    "durable_streaming_callback",
    "is_durable",
]
