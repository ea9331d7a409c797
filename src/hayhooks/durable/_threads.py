"""The one place durable code hands blocking work to a thread (the integrator points it at the shared executor)."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from anyio import to_thread

T = TypeVar("T")


async def run_sync(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(*args, **kwargs)`` in a worker thread with the caller's context variables."""
    ctx = contextvars.copy_context()
    return await to_thread.run_sync(functools.partial(ctx.run, fn, *args, **kwargs), abandon_on_cancel=True)
