"""Durable execution settings: ``DurableConfig`` is what the engine reads, built from ``hayhooks.settings.Settings``
by the server, or from a ``StoreConfig`` (store limits) and a ``RuntimeConfig`` (workers) by an embedded
``DurableDeployment``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DurableConfig:
    store: str = "sqlite"
    sqlite_path: str = ".hayhooks/durable.sqlite3"
    redis_url: str = "redis://localhost:6379/0"
    redis_key_prefix: str = "hayhooks:durable"
    redis_max_viewers: int = 100
    terminal_ttl_seconds: int = 604800
    max_nonterminal_executions: int = 1000
    max_payload_bytes: int = 1_000_000
    max_progress_events: int = 100
    max_progress_event_bytes: int = 8192
    max_stream_chunks: int = 100
    max_stream_chunk_bytes: int = 64000
    worker_concurrency: int = 1
    poll_interval_seconds: float = 5.0
    maintenance_interval_seconds: float = 5.0
    shutdown_grace_seconds: float = 5.0
    release_running_on_shutdown: bool = False
    lease_duration_ms: int = 30000
    lease_commit_safety_ms: int = 1500
    max_run_attempts: int = 3
    max_application_retries: int = 2
    retry_base_delay_seconds: float = 1.0
    retry_max_delay_seconds: float = 60.0


def resolve_store(settings: Any) -> str:
    """Which store to use. An explicit ``durable_store`` wins; a configured Redis URL means Redis; durable mode
    without a store setting means Redis (the Hayhooks 2.1.0 default, never silently a local file); otherwise the
    embedded SQLite store."""
    explicit = settings.model_fields_set
    if settings.durable_store is not None:
        return str(settings.durable_store)
    if "durable_redis_url" in explicit or settings.durable_mode:
        return "redis"
    return "sqlite"


def sqlite_path(settings: Any) -> str:
    if settings.durable_sqlite_path:
        return str(Path(settings.durable_sqlite_path).expanduser())
    return str(Path(settings.pipelines_dir).expanduser().resolve().parent / ".hayhooks" / "durable.sqlite3")


def commit_margin(safety_ms: int, lease_duration_ms: int) -> int:
    """The lease-commit safety margin actually used: a lease is renewed every third of its duration, so a margin
    larger than a quarter of it would refuse every write."""
    return min(safety_ms, lease_duration_ms // 4)


def config_from_settings(settings: Any) -> DurableConfig:
    values = {
        name: getattr(settings, f"durable_{name}")
        for name in DurableConfig.__dataclass_fields__
        if name not in ("store", "sqlite_path")
    }
    values["lease_commit_safety_ms"] = commit_margin(values["lease_commit_safety_ms"], values["lease_duration_ms"])
    return DurableConfig(store=resolve_store(settings), sqlite_path=sqlite_path(settings), **values)


def _finite(**values: float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")


def _at_least(minimum: int, **values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        if value < minimum:
            raise ValueError(f"{name} must be at least {minimum}, got {value}")


@dataclass(frozen=True)
class StoreConfig:
    """Limits of an execution store used by an embedded ``DurableDeployment`` (the server reads them from
    ``HAYHOOKS_DURABLE_*`` settings instead).

    ``stream_ttl_seconds`` and ``monitoring_enabled`` are accepted for Hayhooks 2.1.0 compatibility: our stores
    keep an execution's stream as long as the execution itself, and listing is always available to the
    router's monitoring route."""

    lease_commit_safety_ms: int = 1500
    terminal_ttl_seconds: int = 604800
    stream_ttl_seconds: int = 3600
    max_nonterminal_executions: int = 1000
    max_payload_bytes: int = 1_000_000
    max_progress_events: int = 100
    max_progress_event_bytes: int = 8192
    max_stream_chunks: int = 100
    max_stream_chunk_bytes: int = 64000
    monitoring_enabled: bool = False

    def __post_init__(self) -> None:
        _at_least(0, lease_commit_safety_ms=self.lease_commit_safety_ms)
        _at_least(
            1,
            terminal_ttl_seconds=self.terminal_ttl_seconds,
            stream_ttl_seconds=self.stream_ttl_seconds,
            max_nonterminal_executions=self.max_nonterminal_executions,
            max_payload_bytes=self.max_payload_bytes,
            max_progress_events=self.max_progress_events,
            max_stream_chunks=self.max_stream_chunks,
            max_stream_chunk_bytes=self.max_stream_chunk_bytes,
            max_progress_event_bytes=self.max_progress_event_bytes,
        )


@dataclass(frozen=True)
class RuntimeConfig:
    """Workers, leases and retries of an embedded ``DurableDeployment`` (a ``ValueError`` names a bad value).

    ``operational_backoff_*`` are validated and kept for Hayhooks 2.1.0 compatibility; our workers wait
    ``poll_interval_seconds`` before claiming again after a store failure."""

    worker_concurrency: int = 1
    poll_interval_seconds: float = 5.0
    maintenance_interval_seconds: float = 5.0
    shutdown_grace_seconds: float = 5.0
    lease_duration_ms: int = 30000
    max_run_attempts: int = 3
    max_application_retries: int = 2
    retry_base_delay_seconds: float = 1.0
    retry_max_delay_seconds: float = 60.0
    operational_backoff_min_seconds: float = 0.05
    operational_backoff_max_seconds: float = 5.0
    release_running_on_close: bool = False

    def __post_init__(self) -> None:
        _at_least(1, worker_concurrency=self.worker_concurrency, max_run_attempts=self.max_run_attempts)
        _at_least(0, max_application_retries=self.max_application_retries)
        _at_least(1, lease_duration_ms=self.lease_duration_ms)
        durations = {
            "poll_interval_seconds": self.poll_interval_seconds,
            "maintenance_interval_seconds": self.maintenance_interval_seconds,
            "shutdown_grace_seconds": self.shutdown_grace_seconds,
            "retry_base_delay_seconds": self.retry_base_delay_seconds,
            "retry_max_delay_seconds": self.retry_max_delay_seconds,
            "operational_backoff_min_seconds": self.operational_backoff_min_seconds,
            "operational_backoff_max_seconds": self.operational_backoff_max_seconds,
        }
        _finite(**durations)
        for name in ("poll_interval_seconds", "maintenance_interval_seconds"):
            if durations[name] <= 0:
                raise ValueError(f"{name} must be positive, got {durations[name]}")
        for name, value in durations.items():
            if value < 0:
                raise ValueError(f"{name} cannot be negative, got {value}")
        if self.retry_max_delay_seconds < self.retry_base_delay_seconds:
            raise ValueError("retry_max_delay_seconds must be at least retry_base_delay_seconds")
        if self.operational_backoff_max_seconds < self.operational_backoff_min_seconds:
            raise ValueError("operational_backoff_max_seconds must be at least operational_backoff_min_seconds")


def embedded_config(store: StoreConfig, runtime: RuntimeConfig, store_kind: str) -> DurableConfig:
    """The engine settings of an embedded deployment: its store's limits and its runtime's workers."""
    return DurableConfig(
        store=store_kind,
        terminal_ttl_seconds=store.terminal_ttl_seconds,
        max_nonterminal_executions=store.max_nonterminal_executions,
        max_payload_bytes=store.max_payload_bytes,
        max_progress_events=store.max_progress_events,
        max_progress_event_bytes=store.max_progress_event_bytes,
        max_stream_chunks=store.max_stream_chunks,
        max_stream_chunk_bytes=store.max_stream_chunk_bytes,
        worker_concurrency=runtime.worker_concurrency,
        poll_interval_seconds=runtime.poll_interval_seconds,
        maintenance_interval_seconds=runtime.maintenance_interval_seconds,
        shutdown_grace_seconds=runtime.shutdown_grace_seconds,
        release_running_on_shutdown=runtime.release_running_on_close,
        lease_duration_ms=runtime.lease_duration_ms,
        lease_commit_safety_ms=commit_margin(store.lease_commit_safety_ms, runtime.lease_duration_ms),
        max_run_attempts=runtime.max_run_attempts,
        max_application_retries=runtime.max_application_retries,
        retry_base_delay_seconds=runtime.retry_base_delay_seconds,
        retry_max_delay_seconds=runtime.retry_max_delay_seconds,
    )
