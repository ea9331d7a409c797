"""Management operations behind the admin routes; blocking work runs on worker threads."""

from __future__ import annotations

import functools
import sys
from typing import Literal

from hayhooks import executor
from hayhooks.deploy import files as pf
from hayhooks.deploy.errors import PipelineNotFoundError
from hayhooks.registry import DeployedPipeline
from hayhooks.server.admin.protocol import (
    DeployFilesRequest,
    DeploymentSummary,
    DeployResponse,
    DeployYamlRequest,
    PipelineInfo,
    PipelineStatusResponse,
    SkippedFile,
    StatusResponse,
)
from hayhooks.server.durable.serving import durable_status
from hayhooks.server.state import ServerState


def deploy_response(pipeline: DeployedPipeline) -> DeployResponse:
    return DeployResponse(name=pipeline.name, success=True, endpoint=pipeline.endpoint)


async def deploy_files(state: ServerState, request: DeployFilesRequest) -> DeployResponse:
    deploy = functools.partial(
        state.deployer.deploy_files,
        request.name,
        request.files,
        overwrite=request.overwrite,
        save_files=request.save_files,
        skip_mcp=request.skip_mcp,
        description=request.description,
    )
    response = deploy_response(await executor.run(deploy))
    skipped = pf.skipped_files(request.files)  # the names were checked by the deploy
    response.skipped_files = [SkippedFile(path=path, reason=reason) for path, reason in skipped.items()]
    return response


async def deploy_yaml(state: ServerState, request: DeployYamlRequest) -> DeployResponse:
    deploy = functools.partial(
        state.deployer.deploy_yaml,
        request.name,
        request.source_code,
        overwrite=request.overwrite,
        save_file=request.save_file,
        description=request.description,
        skip_mcp=request.skip_mcp,
    )
    return deploy_response(await executor.run(deploy))


async def undeploy(state: ServerState, name: str) -> None:
    await executor.run(state.deployer.undeploy, name)


def pipeline_info(state: ServerState, pipeline: DeployedPipeline) -> PipelineInfo:
    return PipelineInfo(
        name=pipeline.name,
        kind=pipeline.kind,
        version=pipeline.version,
        endpoint=pipeline.endpoint if pipeline.has_run_api else None,
        source=pipeline.source,
        saved=pipeline.saved,
        description=pipeline.description,
        error=state.registry.errors().get(pipeline.name),
    )


_CAPABILITY_METHODS = {
    "run_api": ("run_api", "run_api_async"),
    "chat_completion": ("run_chat_completion", "run_chat_completion_async"),
    "responses": ("run_response", "run_response_async"),
    "file_upload": ("run_file_upload",),
}


def _deployment_type(pipeline: DeployedPipeline) -> Literal["agent", "pipeline", "unknown"]:
    # Never imported here (about 0.3 s): a wrapper whose attribute is a Haystack pipeline has loaded it already.
    base = sys.modules.get("haystack.core.pipeline.base")
    pipeline_base = getattr(base, "PipelineBase", None)
    target = getattr(pipeline.wrapper, "pipeline", None)
    if pipeline.kind == "yaml" or (pipeline_base is not None and isinstance(target, pipeline_base)):
        return "pipeline"
    if any(cls.__name__ == "Agent" and cls.__module__.startswith("haystack.") for cls in type(target).__mro__):
        return "agent"
    return "unknown"


def deployment_summary(pipeline: DeployedPipeline) -> DeploymentSummary:
    """``pipeline`` as Hayhooks 2.1.0's ``/status`` describes it."""
    capabilities = [cap for cap, methods in _CAPABILITY_METHODS.items() if pipeline.methods.intersection(methods)]
    if pipeline.has_run_api and not pipeline.skip_mcp:
        capabilities.append("mcp_eligible")
    return DeploymentSummary(
        name=pipeline.name,
        type=_deployment_type(pipeline),
        description=pipeline.description,
        capabilities=capabilities,
    )


def status(state: ServerState) -> StatusResponse:
    pipelines = state.registry.all()
    return StatusResponse(
        pipelines=[p.name for p in pipelines],
        worker=state.worker,
        details=[pipeline_info(state, p) for p in pipelines],
        errors=state.registry.errors(),
        deployments=[deployment_summary(p) for p in pipelines],
        durable_mode=state.settings.durable_mode,
        durable=durable_status(state),
    )


async def pipeline_status(state: ServerState, name: str) -> PipelineStatusResponse:
    pipeline = await state.lookup(name)
    if pipeline is None:
        raise PipelineNotFoundError(f"Pipeline '{name}' not found")
    return PipelineStatusResponse(
        pipeline=name,
        version=pipeline.version,
        kind=pipeline.kind,
        worker=state.worker,
        error=state.registry.errors().get(name),
    )
