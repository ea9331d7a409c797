"""The Redis execution store, where Hayhooks 2.1.0's embedding API imports it from (needs the ``redis`` package
only when a store is created)."""

from __future__ import annotations

from hayhooks.durable.stores.redis import RedisExecutionStore

__all__ = ["RedisExecutionStore"]
