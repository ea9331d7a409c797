"""The durable routes of one pipeline in ``/openapi.json``: ``/NAME/run-durable`` and ``/NAME/executions/...``.

The routes themselves are shared by every pipeline (``/{name}/run-durable``, looked up in the registry per
request, see ``api_router.py``); the document lists them per durable pipeline instead, with that pipeline's
request body, resume body and result, so clients generated from it see typed operations, as Hayhooks 2.1.0 publishes
them. ``server/openapi.py`` adds these path items beside the pipeline's ``/NAME/run``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hayhooks.durable import DurableSpec
from hayhooks.durable.models import ExecutionStatus

SchemaOf = Callable[[type[BaseModel]], dict[str, Any]]  # a model -> its "$ref", adding it to the components


class ExecutionProgress(BaseModel):
    sequence: int
    kind: str
    message: str
    timestamp: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class PersistedError(BaseModel):
    type: str
    message: str
    retryable: bool = False
    code: str | None = None


class ExecutionResult(BaseModel):
    """An execution as the durable routes answer it (``hayhooks.durable.models.project``)."""

    model_config = ConfigDict(extra="forbid")

    execution_id: str
    status: ExecutionStatus
    attempt: int
    sequence: int
    progress: list[ExecutionProgress] = Field(default_factory=list)
    result: Any = None
    error: PersistedError | None = None
    waiting: dict[str, Any] | None = None
    cancellation_requested_at: str | None = None
    created_at: str
    updated_at: str
    links: dict[str, str] = Field(default_factory=dict)


class ExecutionSummary(BaseModel):
    execution_id: str
    deployment: str
    kind: str
    revision: str
    status: ExecutionStatus
    attempt: int
    created_at: str
    updated_at: str
    cancellation_pending: bool
    available_at: str | None = None


class ExecutionPage(BaseModel):
    executions: list[ExecutionSummary]
    next_cursor: str | None = None
    has_more: bool = False
    skipped_controls: int = 0


_EXECUTION_ID = {
    "name": "execution_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,128}$", "title": "Execution Id"},
}
_NOT_FOUND = {"description": "No such execution (or it belongs to another owner)."}
_UNAVAILABLE = {"description": "The durable execution store is unavailable."}
_VALIDATION = {"description": "Validation error: `detail` lists each invalid field under `loc`."}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(name: str, action: str, summary: str, **fields: Any) -> dict[str, Any]:
    return {"tags": ["durable executions"], "summary": summary, "operationId": f"durable_{name}_{action}", **fields}


def durable_path_items(name: str, spec: DurableSpec, schema_of: SchemaOf) -> dict[str, dict[str, Any]]:
    """The path items of pipeline ``name``'s durable routes (under ``/name``)."""
    execution = _json(schema_of(ExecutionResult), "The execution")
    accepted = _json(schema_of(ExecutionResult), "Accepted: the execution, with its links")
    key = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "minLength": 1}}
    body = {"required": True, "content": {"application/json": {"schema": schema_of(spec.request_model)}}}
    base = f"/{name}/executions/{{execution_id}}"
    resume: dict[str, Any] = {"parameters": [_EXECUTION_ID]}
    if spec.resume_model is not None:
        resume["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema_of(spec.resume_model)}},
        }
    listing = [
        {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "default": 50}},
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
    ]
    return {
        f"/{name}/run-durable": {
            "post": _operation(
                name,
                "submit",
                f"Start a durable execution of {name}",
                parameters=[key],
                requestBody=body,
                responses={
                    "202": accepted,
                    "200": _json(schema_of(ExecutionResult), "The execution an earlier request with this key made"),
                    "409": {"description": "The idempotency key was used with another body."},
                    "422": _VALIDATION,
                    "503": _UNAVAILABLE,
                },
            )
        },
        f"/{name}/executions": {
            "get": _operation(
                name,
                "list",
                f"List the executions of {name} (admin key)",
                parameters=listing,
                responses={"200": _json(schema_of(ExecutionPage), "One page, newest first"), "503": _UNAVAILABLE},
            )
        },
        base: {
            "get": _operation(
                name,
                "get",
                "Show an execution",
                parameters=[_EXECUTION_ID],
                responses={"200": execution, "404": _NOT_FOUND},
            )
        },
        f"{base}/cancel": {
            "post": _operation(
                name,
                "cancel",
                "Cancel an execution",
                parameters=[_EXECUTION_ID],
                responses={
                    "202": _json(schema_of(ExecutionResult), "Cancellation requested (or done, if it was queued)"),
                    "200": _json(schema_of(ExecutionResult), "It had already finished: unchanged"),
                    "404": _NOT_FOUND,
                },
            )
        },
        f"{base}/resume": {
            "post": _operation(
                name,
                "resume",
                "Resume a waiting execution with the input it waits for",
                **resume,
                responses={
                    "202": execution,
                    "404": _NOT_FOUND,
                    "409": {"description": "Not waiting."},
                    "422": _VALIDATION,
                },
            )
        },
        f"{base}/stream": {
            "get": _operation(
                name,
                "stream",
                "Follow an execution's stream (SSE; resume with Last-Event-ID)",
                parameters=[_EXECUTION_ID],
                responses={
                    "200": {"description": "Server-sent events", "content": {"text/event-stream": {}}},
                    "404": _NOT_FOUND,
                },
            )
        },
    }
