"""Durable execution settings, as the engine sees them (built from ``hayhooks.settings.Settings``)."""

from __future__ import annotations

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


def config_from_settings(settings: Any) -> DurableConfig:
    values = {
        name: getattr(settings, f"durable_{name}")
        for name in DurableConfig.__dataclass_fields__
        if name not in ("store", "sqlite_path")
    }
    # A lease is renewed every third of its duration: a safety margin larger than that would refuse every write.
    values["lease_commit_safety_ms"] = min(values["lease_commit_safety_ms"], values["lease_duration_ms"] // 4)
    return DurableConfig(store=resolve_store(settings), sqlite_path=sqlite_path(settings), **values)
