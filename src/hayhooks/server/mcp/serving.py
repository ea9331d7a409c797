"""What calling a tool does: run a pipeline, or one of the core management operations.

Tool failures (bad arguments, a pipeline that raises, a refused deploy) come back as error *results*
(``isError``) so the model calling the tool can read them; only an unknown tool name is a protocol error.
The core tools reuse the admin routes' operations, so they behave exactly like the HTTP endpoints.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mcp import types
from pydantic import BaseModel, ValidationError

from hayhooks.deploy.errors import DeployError, PipelineConflictError
from hayhooks.registry import DeployedPipeline
from hayhooks.server.admin import serving as admin
from hayhooks.server.admin.protocol import DeployFilesRequest, UndeployResponse
from hayhooks.server.errors import error_detail
from hayhooks.server.mcp.access import ADMIN_KEY_NEEDED, CHANGING_TOOLS, caller_is_admin
from hayhooks.server.mcp.results import error_result, render
from hayhooks.server.mcp.schemas import (
    DeployPipelineArguments,
    NoArguments,
    PipelineNameArguments,
    describe_validation_error,
)
from hayhooks.server.mcp.tools import CORE_TOOLS, is_pipeline_tool
from hayhooks.server.run.serving import call_run_api
from hayhooks.server.state import ServerState

logger = logging.getLogger("hayhooks.mcp")


class UnknownToolError(LookupError):
    """No tool has this name (never deployed, undeployed, chat-only or skip-MCP)."""


# --- core tools ------------------------------------------------------------------------------------------


async def _all_statuses(state: ServerState, _: NoArguments) -> BaseModel:
    return admin.status(state)


async def _pipeline_status(state: ServerState, args: PipelineNameArguments) -> BaseModel:
    return await admin.pipeline_status(state, args.pipeline_name)


async def _deploy(state: ServerState, args: DeployPipelineArguments) -> BaseModel:
    if not args.save_files and state.settings.workers > 1:
        # With several workers, the session's next request may reach another worker: a pipeline that lives
        # only in this worker's memory would be an unknown tool there. Saved files reach every worker.
        raise PipelineConflictError(
            f"save_files=false cannot work with {state.settings.workers} workers: the pipeline would exist on one "
            "worker only, and this session's next call may reach another. Deploy with save_files=true."
        )
    request = DeployFilesRequest(
        name=args.name, files=args.files_by_name(), overwrite=args.overwrite, save_files=args.save_files
    )
    return await admin.deploy_files(state, request)


async def _undeploy(state: ServerState, args: PipelineNameArguments) -> BaseModel:
    await admin.undeploy(state, args.pipeline_name)
    return UndeployResponse(success=True, name=args.pipeline_name)


CoreHandler = Callable[[ServerState, Any], Awaitable[BaseModel]]

CORE_HANDLERS: dict[str, CoreHandler] = {
    "get_all_pipeline_statuses": _all_statuses,
    "get_pipeline_status": _pipeline_status,
    "deploy_pipeline": _deploy,
    "undeploy_pipeline": _undeploy,
}
assert CORE_HANDLERS.keys() == CORE_TOOLS.keys()


async def call_core_tool(state: ServerState, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
    try:
        args = CORE_TOOLS[name].arguments.model_validate(arguments)
    except ValidationError as exc:
        return error_result(f"Invalid arguments for '{name}': {describe_validation_error(exc)}")
    try:
        response = await CORE_HANDLERS[name](state, args)
    except DeployError as exc:
        return error_result(str(exc))
    except Exception as exc:
        logger.exception("MCP core tool '%s' failed", name)
        return error_result(f"'{name}' failed: {error_detail(exc, state.settings.show_tracebacks)}")
    return await render(response)


# --- pipeline tools --------------------------------------------------------------------------------------


def _run_kwargs(pipeline: DeployedPipeline, arguments: dict[str, Any]) -> dict[str, Any]:
    """Validate ``arguments`` with the pipeline's request model; raises ``ValidationError``."""
    signature = pipeline.run_signature
    assert signature is not None
    model = signature.request_model.model_validate(arguments)
    # Keep nested models as models, as the REST route does: wrappers annotate them and use attributes.
    kwargs = {field: getattr(model, field) for field in type(model).model_fields}
    kwargs.update({name: None for name in signature.file_params})  # MCP carries no file uploads
    return kwargs


async def call_pipeline_tool(
    state: ServerState, pipeline: DeployedPipeline, arguments: dict[str, Any]
) -> types.CallToolResult:
    try:
        kwargs = _run_kwargs(pipeline, arguments)
    except ValidationError as exc:
        return error_result(f"Invalid arguments for '{pipeline.name}': {describe_validation_error(exc)}")
    try:
        return await render(await call_run_api(pipeline, kwargs, state.settings))
    except Exception as exc:
        logger.exception("Pipeline '%s' failed (MCP tool call)", pipeline.name)
        return error_result(f"Pipeline '{pipeline.name}' failed: {error_detail(exc, state.settings.show_tracebacks)}")


async def call_tool(
    state: ServerState, name: str, arguments: dict[str, Any], *, changes_need_admin: bool = False
) -> types.CallToolResult:
    """Run tool ``name``; with ``changes_need_admin``, deploy/undeploy need an admin API key."""
    await state.wait_ready()
    if name in CORE_TOOLS:
        if changes_need_admin and name in CHANGING_TOOLS and not caller_is_admin():
            return error_result(ADMIN_KEY_NEEDED)
        return await call_core_tool(state, name, arguments)
    pipeline = await state.lookup(name)
    if pipeline is None or not is_pipeline_tool(pipeline):
        raise UnknownToolError(f"Unknown tool: '{name}'")
    return await call_pipeline_tool(state, pipeline, arguments)
