"""Durable execution metrics on ``GET /metrics``.

Counts by status come from the store (shared by every worker and instance), refreshed by each worker's
maintenance loop; with several workers they report the same numbers, so the multiprocess mode is ``max``.
Attempts are counted by the worker that claimed them, and summed.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from hayhooks.durable.models import ExecutionRecord, ExecutionStatus

EXECUTIONS = Gauge(
    "hayhooks_durable_executions",
    "Durable executions in the store, by status (refreshed every HAYHOOKS_DURABLE_MAINTENANCE_INTERVAL_SECONDS).",
    ["status"],
    multiprocess_mode="max",
)
QUEUE_DEPTH = Gauge(
    "hayhooks_durable_queue_depth",
    "Durable executions queued and not yet claimed by a worker.",
    multiprocess_mode="max",
)
ATTEMPTS = Counter("hayhooks_durable_attempts", "Attempts started by workers (claims and takeovers).", ["pipeline"])
TAKEOVERS = Counter(
    "hayhooks_durable_takeovers", "Executions taken over after their worker's lease expired.", ["pipeline"]
)


def record_counts(counts: dict[str, int]) -> None:
    for status in ExecutionStatus:
        EXECUTIONS.labels(status.value).set(counts.get(status.value, 0))
    QUEUE_DEPTH.set(counts.get(ExecutionStatus.QUEUED.value, 0))


def record_claim(record: ExecutionRecord, takeover: bool) -> None:
    ATTEMPTS.labels(record.pipeline).inc()
    if takeover:
        TAKEOVERS.labels(record.pipeline).inc()
