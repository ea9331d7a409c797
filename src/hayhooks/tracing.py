"""Spans around a wrapper's own steps, in whatever tracer Haystack is configured with.

``trace_operation("my.step", tags=build_trace_tags({...}))`` opens a span with Haystack's tracer (OpenTelemetry,
Datadog, ... when configured; a no-op otherwise), so a wrapper's custom spans nest with the pipeline's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from haystack import tracing


def build_trace_tags(tags: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """``tags`` and keyword tags merged into one dict, ``None`` values left out."""
    merged = {**(tags or {}), **kwargs}
    return {key: value for key, value in merged.items() if value is not None}


@contextmanager
def trace_operation(operation_name: str, *, tags: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """A span named ``operation_name`` around the block; yields the span (``span.set_tag(key, value)``)."""
    with tracing.tracer.trace(operation_name, tags=dict(tags or {})) as span:
        yield span


__all__ = ["build_trace_tags", "trace_operation"]
