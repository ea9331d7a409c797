"""Execution stores and their limits, where Hayhooks 2.1.0's embedding API imports them from.

``CHUNK_CURSOR_START`` is the stream cursor before the first chunk (``Last-Event-ID: 0-0`` replays everything).
Our stores share one interface (``hayhooks.durable.stores.base.ExecutionStore``), not 2.1.0's internal protocol.
"""

from __future__ import annotations

from hayhooks.durable.config import StoreConfig
from hayhooks.durable.errors import ChunkCursorExpiredError, ExecutionIdempotencyConflictError
from hayhooks.durable.stores import ExecutionStore, MemoryExecutionStore, SQLiteExecutionStore

CHUNK_CURSOR_START = "0-0"

__all__ = [
    "CHUNK_CURSOR_START",
    "ChunkCursorExpiredError",
    "ExecutionIdempotencyConflictError",
    "ExecutionStore",
    "MemoryExecutionStore",
    "SQLiteExecutionStore",
    "StoreConfig",
]
