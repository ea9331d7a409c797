"""Every knob of the server, read from ``HAYHOOKS_*`` environment variables and a ``.env`` file.

Each field's ``description`` is the documentation: ``docs/configuration.md`` is generated from this class
(``python -m hayhooks.settings_docs``) and a test fails when the two disagree.
"""

from __future__ import annotations

import json
import logging
from enum import Enum
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "HAYHOOKS_"

StrList = Annotated[list[str], NoDecode]
# Secrets print as '**********' in reprs, so logging the settings object never leaks an API key.
SecretList = Annotated[list[SecretStr], NoDecode]


def _parse_str_list(value: Any) -> Any:
    """Accept a JSON list (``'["a", "b"]'``) or a comma-separated string (``a,b``)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return []
    if text.startswith("["):
        return json.loads(text)
    return [part.strip() for part in text.split(",") if part.strip()]


class StartupDeployStrategy(str, Enum):
    """Values of ``startup_deploy_strategy`` (Hayhooks 2.1.0 names); equal to the plain strings."""

    SEQUENTIAL = "sequential"
    PARALLEL = "parallel"


class DeployConcurrencyPolicy(str, Enum):
    """Values of ``deploy_concurrency`` (Hayhooks 2.1.0 names); equal to the plain strings."""

    SERIALIZED = "serialized"
    PARALLEL = "parallel"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- server -------------------------------------------------------------------------------------------
    host: str = Field("localhost", description="Address the server binds to. Use 0.0.0.0 inside containers.")
    port: int = Field(1416, ge=0, le=65535, description="Port the server listens on.")
    root_path: str = Field("", description="ASGI root path when served behind a proxy under a prefix (e.g. /api).")
    workers: int = Field(1, ge=1, description="Number of worker processes started by `hayhooks run`.")
    graceful_shutdown_timeout: float = Field(
        30.0, ge=0, description="Seconds in-flight requests may take to finish after SIGTERM before the server exits."
    )

    # --- pipelines ----------------------------------------------------------------------------------------
    pipelines_dir: str = Field(
        "./pipelines",
        description="Folder deployed at startup (wrapper folders and YAML files); created if missing. "
        "Runtime deploys are saved here, and every worker watching it converges on its content.",
    )
    additional_python_path: str = Field(
        "", description="Extra folder added to sys.path so pipelines can import shared modules from it."
    )
    startup_deploy_strategy: Literal["parallel", "sequential"] = Field(
        "parallel", description="How pipelines in the pipelines dir are deployed at startup."
    )
    startup_deploy_workers: int = Field(4, ge=1, description="Threads used by the parallel startup deploy strategy.")
    deploy_concurrency: Literal["serialized", "parallel"] = Field(
        "serialized",
        description="Whether runtime deploy/undeploy requests run one at a time (serialized) or concurrently "
        "(parallel; requests for the same pipeline name are still serialized).",
    )
    watch_pipelines_dir: bool = Field(
        True, description="Watch the pipelines dir and hot-reload pipelines changed on disk by anyone."
    )
    pipelines_rescan_interval: float = Field(
        30.0,
        ge=0,
        description="Seconds between full rescans of the watched pipelines dir (file stats, hashing only what "
        "changed): a fallback for filesystems without change events, such as NFS. 0 turns it off.",
    )
    runtime_deploy: bool = Field(
        True,
        description="Allow deploy/undeploy over HTTP and MCP. Turn off in production to make the pipelines dir "
        "the only way to change what is served.",
    )
    files_to_ignore_patterns: StrList = Field(
        ["*.pyc", "*.pyo", "*.pyd", "__pycache__", "*.so", "*.egg", "*.egg-info"],
        description="Glob patterns of files and folders left out of a deployed pipeline (matched against every "
        "part of a file's path; JSON list or comma-separated). Hidden files and caches are always left out.",
    )
    streaming_components: str = Field(
        "",
        description="Default streaming components for streaming_generator: empty = last streaming-capable "
        "component, `all`, or a comma-separated list of component names.",
    )

    # --- errors and logging -------------------------------------------------------------------------------
    show_tracebacks: bool = Field(False, description="Add Python tracebacks to error responses (development only).")
    log_level: str = Field(
        "INFO",
        validation_alias=AliasChoices("HAYHOOKS_LOG_LEVEL", "LOG"),
        description="Log level (DEBUG, INFO, WARNING, ERROR). Read from HAYHOOKS_LOG_LEVEL, else LOG.",
    )
    log_format: Literal["default", "verbose", "json"] = Field(
        "default",
        description="Log line format: default, verbose (adds logger and location) or json (one object per line).",
    )

    # --- CORS ---------------------------------------------------------------------------------------------
    cors_allow_origins: StrList = Field(["*"], description="Allowed CORS origins (JSON list or comma-separated).")
    cors_allow_methods: StrList = Field(["*"], description="Allowed CORS methods.")
    cors_allow_headers: StrList = Field(["*"], description="Allowed CORS request headers.")
    cors_allow_credentials: bool = Field(False, description="Allow cookies/credentials on CORS requests.")
    cors_allow_origin_regex: str | None = Field(
        None, description="Regex of allowed CORS origins (e.g. https://.*\\.example\\.com)."
    )
    cors_expose_headers: StrList = Field([], description="Response headers exposed to browsers.")
    cors_max_age: int = Field(600, ge=0, description="Seconds browsers may cache a CORS preflight answer.")

    # --- security and limits ------------------------------------------------------------------------------
    api_keys: SecretList = Field(
        [],
        description="API keys allowed to run pipelines (JSON list), sent as `Authorization: Bearer KEY` or "
        "`X-API-Key: KEY`. With no invoke or admin key configured, the server needs no key.",
    )
    api_keys_file: str | None = Field(
        None,
        description="File with one invoke API key per line (# comments allowed); keeps keys out of the environment.",
    )
    admin_api_keys: SecretList = Field(
        [], description="API keys allowed to run pipelines and also deploy and undeploy them (JSON list)."
    )
    admin_api_keys_file: str | None = Field(
        None, description="File with one admin API key per line (# comments allowed)."
    )
    max_request_body_mb: float = Field(
        100.0, gt=0, description="Largest accepted request body, in MB; larger ones get 413."
    )
    request_timeout: float | None = Field(
        None, gt=0, description="Default seconds a pipeline run may take before 504 (unset = no limit)."
    )
    max_concurrent_runs: int | None = Field(
        None, ge=1, description="Default number of runs a pipeline executes at once (unset = unlimited)."
    )
    max_queued_runs: int | None = Field(
        None, ge=0, description="Default number of runs waiting for a slot per pipeline before 503 (unset = unlimited)."
    )
    rate_limit: str | None = Field(
        None,
        description="Rate limit per API key (or client address without keys) and worker, e.g. `100/minute` or "
        "`10/second;500/hour`; 429 with Retry-After past it. Health, status, metrics and docs are not limited.",
    )

    # --- MCP ----------------------------------------------------------------------------------------------
    mcp_host: str = Field("localhost", description="Address `hayhooks mcp run` binds to.")
    mcp_port: int = Field(1417, ge=0, le=65535, description="Port `hayhooks mcp run` listens on.")
    serve_mcp: bool = Field(
        False, description="Also serve MCP (Streamable HTTP at /mcp, SSE at /sse) on the main server."
    )

    # --- durable executions -------------------------------------------------------------------------------
    durable_mode: bool = Field(
        False,
        description="Hayhooks 2.1.0 compatibility switch. Durable wrappers are served without it; with it and no "
        "HAYHOOKS_DURABLE_STORE, the store is Redis (as in 2.1.0), never a local file.",
    )
    durable_store: Literal["sqlite", "memory", "redis"] | None = Field(
        None,
        description="Execution store: sqlite (embedded file, survives restarts, shared by the workers of one host), "
        "memory (lost on restart, one worker) or redis. Unset: redis when HAYHOOKS_DURABLE_REDIS_URL is set or "
        "durable mode is on, else sqlite.",
    )
    durable_sqlite_path: str = Field(
        "",
        description="File of the embedded SQLite store. Empty: `.hayhooks/durable.sqlite3` next to the pipelines dir.",
    )
    durable_redis_url: str = Field("redis://localhost:6379/0", description="Redis URL of the redis store.")
    durable_redis_key_prefix: str = Field("hayhooks:durable", description="Prefix of every Redis key the store uses.")
    durable_redis_max_viewers: int = Field(
        100, ge=1, description="Most Redis connections used at once by streams and API reads, per worker."
    )
    durable_terminal_ttl_seconds: int = Field(
        604800, ge=1, description="Seconds a completed, failed or canceled execution is kept before it is deleted."
    )
    durable_max_nonterminal_executions: int = Field(
        1000, ge=1, description="Most unfinished (queued, running, waiting) executions; more submits get 429."
    )
    durable_max_payload_bytes: int = Field(
        1_000_000, ge=1, description="Largest request, result, state, checkpoint or resume input, in bytes (413)."
    )
    durable_max_progress_events: int = Field(100, ge=1, description="Progress events kept per execution (newest).")
    durable_max_progress_event_bytes: int = Field(
        8192, ge=64, description="Largest progress event in bytes; longer ones are truncated."
    )
    durable_max_stream_chunks: int = Field(
        100, ge=1, description="Stream chunks kept per execution (newest); older ones are reported as a gap."
    )
    durable_max_stream_chunk_bytes: int = Field(64000, ge=16, description="Largest stream chunk, in bytes.")
    durable_worker_concurrency: int = Field(1, ge=1, description="Executions each server worker process runs at once.")
    durable_poll_interval_seconds: float = Field(
        5.0, gt=0, description="Seconds an idle worker waits before looking for work submitted to other processes."
    )
    durable_maintenance_interval_seconds: float = Field(
        5.0, gt=0, description="Seconds between deletions of executions past their TTL."
    )
    durable_shutdown_grace_seconds: float = Field(
        5.0, ge=0, description="Seconds running executions may take to finish on shutdown."
    )
    durable_release_running_on_shutdown: bool = Field(
        False,
        description="After the grace period, put unfinished executions back in the queue at once instead of "
        "letting their lease expire.",
    )
    durable_lease_duration_ms: int = Field(
        30000,
        ge=100,
        description="Lease of a running execution; renewed every third of it. A worker that dies "
        "loses it, and another worker continues the execution from its last checkpoint.",
    )
    durable_lease_commit_safety_ms: int = Field(
        1500,
        ge=0,
        description="A worker writes nothing when its lease expires in less than this (milliseconds; at most a "
        "quarter of the lease duration is used).",
    )
    durable_max_run_attempts: int = Field(
        3, ge=1, description="Attempts (claims by a worker) an execution may take before it fails."
    )
    durable_max_application_retries: int = Field(
        2, ge=0, description="Times a wrapper may call context.retry() for one execution."
    )
    durable_retry_base_delay_seconds: float = Field(
        1.0, ge=0, description="First delay of context.retry() without a delay; doubles on each retry."
    )
    durable_retry_max_delay_seconds: float = Field(60.0, ge=0, description="Longest delay between retries.")

    # --- accepted for Hayhooks 2.1.0, no effect here -----------------------------------------------------------
    tracing_enabled: bool = Field(
        True,
        description="Hayhooks 2.1.0's local trace capture API (`--with/--without-tracing`). Accepted so 2.1.0 "
        "configurations load; this server does not have that feature, and the value has no effect.",
    )
    monitoring_enabled: bool = Field(
        True,
        description="Hayhooks 2.1.0's durable execution enumeration (`--with/--without-monitoring`). Accepted so "
        "2.1.0 configurations load; this server does not have that feature, and the value has no effect.",
    )

    # --- CLI client ---------------------------------------------------------------------------------------
    use_https: bool = Field(False, description="CLI client: talk to the server over https.")
    disable_ssl: bool = Field(False, description="CLI client: do not verify the server's TLS certificate.")

    @field_validator(
        "cors_allow_origins",
        "cors_allow_methods",
        "cors_allow_headers",
        "cors_expose_headers",
        "files_to_ignore_patterns",
        "api_keys",
        "admin_api_keys",
        mode="before",
    )
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        return _parse_str_list(value)

    @field_validator("rate_limit")
    @classmethod
    def _check_rate_limit(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError("expected e.g. '100/minute' or '10/second;500/hour'") from None
        return value.strip()

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        level = str(value).strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return "WARNING" if level == "WARN" else level

    @property
    def cors_is_wide_open(self) -> bool:
        return all(v == ["*"] for v in (self.cors_allow_origins, self.cors_allow_methods, self.cors_allow_headers))


def check_cors_settings(settings: Settings | None = None, *, level: int = logging.WARNING) -> bool:
    """Log (at ``level``) when CORS allows every origin, method and header; returns whether it does."""
    wide_open = (settings or get_settings()).cors_is_wide_open
    if wide_open:
        logging.getLogger("hayhooks").log(
            level, "CORS allows every origin, method and header; set HAYHOOKS_CORS_ALLOW_ORIGINS in production."
        )
    return wide_open


class SettingsError(Exception):
    """A setting has an invalid value; the message names the environment variable."""


def env_name(field_name: str) -> str:
    if field_name == "log_level":
        return "HAYHOOKS_LOG_LEVEL/LOG"
    return ENV_PREFIX + field_name.upper()


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and ``.env``; raise ``SettingsError`` naming the bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        raise SettingsError(f"Invalid value for {env_name(field)}: {first['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


# Hayhooks 2.1.0 names: ``from hayhooks.settings import settings, AppSettings``.
AppSettings = Settings


def __getattr__(name: str) -> Any:
    # ``settings`` is the process-wide instance ``get_settings()`` returns (and ``create_app()`` uses), read from
    # the environment on first access only, so importing this module stays cheap.
    if name == "settings":
        return get_settings()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
