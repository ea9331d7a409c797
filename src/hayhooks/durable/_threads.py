"""The one place durable code hands blocking work to a thread: the shared executor (``hayhooks.executor``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from hayhooks import executor

T = TypeVar("T")


async def run_sync(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(*args, **kwargs)`` on the executor, with the caller's context variables."""
    return await executor.run(fn, *args, **kwargs)
