"""FastAPI routes for one ``DurableDeployment`` in your own app: the same routes, statuses and bodies as the
Hayhooks server's ``/{name}/run-durable`` and ``/{name}/executions/...``, without the pipeline name in the path.

``app.include_router(create_durable_router(deployment, owner_id_dependency=...), prefix="/jobs")`` serves
``POST /jobs/run-durable`` and ``/jobs/executions/{execution_id}`` (``/cancel``, ``/resume``, ``/stream``);
``Location`` and ``links`` carry the prefix. The router does not start or close the deployment: run a
``DurableRuntime`` in the app's lifespan.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from hayhooks.durable.models import ExecutionRecord

if TYPE_CHECKING:
    from hayhooks.durable.runtime import DurableDeployment
    from hayhooks.server.durable.handlers import DurableTarget

OwnerIdDependency = Callable[..., str | Awaitable[str]]
"""A FastAPI dependency (it may take ``Request``, headers, other dependencies) returning the caller's owner id."""

__all__ = ["OwnerIdDependency", "create_durable_router"]

_EXECUTION = "/executions/{execution_id}"


def _at(execution_id: str, tail: str = "") -> str:
    return f"/executions/{execution_id}{tail}"


def _unscoped() -> None:
    return None


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The request model's JSON schema for the docs (a plain object when it needs shared definitions)."""
    schema = model.model_json_schema()
    if "$defs" in schema:
        return {"type": "object", "title": model.__name__, "description": model.__doc__ or ""}
    return schema


def _base(request: Request, suffix: str) -> str:
    """The router's prefix as the app serves it: the request path without this endpoint's own part."""
    path: str = request.scope.get("path", "")
    root: str = request.scope.get("root_path", "")
    if root and not path.startswith(root):
        path = root + path
    return path[: -len(suffix)] if suffix and path.endswith(suffix) else path


def create_durable_router(
    deployment: DurableDeployment,
    *,
    owner_id_dependency: OwnerIdDependency | None,
    monitoring_enabled: bool = False,
    monitoring_dependency: Callable[..., Any] | None = None,
) -> APIRouter:
    """Routes for ``deployment``. ``owner_id_dependency`` returns who calls: executions are stored with it and
    other owners' executions answer 404; ``None`` serves every execution to everyone. With
    ``monitoring_enabled``, ``GET /executions`` lists the deployment's executions to callers for whom
    ``monitoring_dependency`` returns ``True`` (403 for everyone else, and without a dependency)."""
    from hayhooks.server.durable import handlers  # the server's route logic, shared (imported on use)

    scoped = owner_id_dependency is not None
    owner_param: Any = Depends(owner_id_dependency if owner_id_dependency is not None else _unscoped)
    router = APIRouter(tags=["durable executions"])
    name = deployment.name

    def target(request: Request, suffix: str, owner: object, *, acting: bool = True) -> DurableTarget:
        if acting and scoped and (not isinstance(owner, str) or not owner):
            raise TypeError("owner_id_dependency must return a non-empty string")
        owner_id = owner if scoped and isinstance(owner, str) else None

        def sees(record: ExecutionRecord) -> bool:
            return not scoped or record.owner_id == owner_id

        return handlers.DurableTarget(
            name=name,
            spec=deployment.spec,
            engine=deployment.engine,
            base=_base(request, suffix),
            owner_id=owner_id,
            sees=sees,
            closed=None if deployment.accepting else f"durable deployment '{name}' is not accepting submissions",
        )

    submit_docs = {
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"}}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _body_schema(deployment.spec.request_model)}},
        },
    }

    @router.post(
        "/run-durable", status_code=202, summary=f"Start a durable execution of {name}", openapi_extra=submit_docs
    )
    async def run_durable(request: Request, owner: Any = owner_param) -> JSONResponse:
        """``202`` with ``Location``; ``200`` with ``Idempotent-Replay: true`` for a repeated ``Idempotency-Key``."""
        return await handlers.submit(target(request, "/run-durable", owner), request)

    @router.get(_EXECUTION, summary=f"One durable execution of {name}")
    async def get_execution(execution_id: str, request: Request, owner: Any = owner_param) -> JSONResponse:
        return await handlers.show(target(request, _at(execution_id), owner), execution_id)

    @router.post(f"{_EXECUTION}/cancel", summary=f"Cancel a durable execution of {name}")
    async def cancel_execution(execution_id: str, request: Request, owner: Any = owner_param) -> JSONResponse:
        return await handlers.cancel(target(request, _at(execution_id, "/cancel"), owner), request, execution_id)

    @router.post(f"{_EXECUTION}/resume", summary=f"Resume a waiting durable execution of {name}")
    async def resume_execution(execution_id: str, request: Request, owner: Any = owner_param) -> JSONResponse:
        return await handlers.resume(target(request, _at(execution_id, "/resume"), owner), request, execution_id)

    @router.get(f"{_EXECUTION}/stream", summary=f"Stream a durable execution of {name} (SSE)")
    async def stream_execution(execution_id: str, request: Request, owner: Any = owner_param) -> Response:
        return await handlers.stream(target(request, _at(execution_id, "/stream"), owner), request, execution_id)

    if monitoring_enabled:
        allowed: Any = Depends(monitoring_dependency if monitoring_dependency is not None else _unscoped)

        @router.get("/executions", summary=f"List durable executions of {name}")
        async def list_executions(
            request: Request, limit: int = 50, cursor: str | None = None, authorized: Any = allowed
        ) -> JSONResponse:
            if monitoring_dependency is None:
                return handlers.error(403, "Listing executions needs a monitoring_dependency")
            if authorized is not True:
                return handlers.error(403, "The monitoring dependency must return True to authorize listing")
            return await handlers.page(target(request, "/executions", None, acting=False), limit, cursor)

    return router
