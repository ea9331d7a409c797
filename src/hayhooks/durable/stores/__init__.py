"""Execution stores: ``memory``, ``sqlite`` (embedded, the default) and ``redis``."""

from __future__ import annotations

from hayhooks.durable.config import DurableConfig
from hayhooks.durable.stores.base import ExecutionStore
from hayhooks.durable.stores.memory import MemoryExecutionStore
from hayhooks.durable.stores.sqlite import SQLiteExecutionStore


def create_store(config: DurableConfig) -> ExecutionStore:
    if config.store == "memory":
        return MemoryExecutionStore()
    if config.store == "redis":
        from hayhooks.durable.stores.redis import RedisExecutionStore

        return RedisExecutionStore(
            config.redis_url, key_prefix=config.redis_key_prefix, max_connections=config.redis_max_viewers
        )
    return SQLiteExecutionStore(config.sqlite_path)


__all__ = ["ExecutionStore", "MemoryExecutionStore", "SQLiteExecutionStore", "create_store"]
