"""Management operations behind the admin routes; blocking work runs on worker threads."""

from __future__ import annotations

import functools

from anyio import to_thread

from hayhooks.deploy.errors import PipelineNotFoundError
from hayhooks.registry import DeployedPipeline
from hayhooks.server.admin.protocol import (
    DeployFilesRequest,
    DeployResponse,
    DeployYamlRequest,
    PipelineInfo,
    PipelineStatusResponse,
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
    return deploy_response(await to_thread.run_sync(deploy))


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
    return deploy_response(await to_thread.run_sync(deploy))


async def undeploy(state: ServerState, name: str) -> None:
    await to_thread.run_sync(state.deployer.undeploy, name)


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


def status(state: ServerState) -> StatusResponse:
    pipelines = state.registry.all()
    return StatusResponse(
        pipelines=[p.name for p in pipelines],
        worker=state.worker,
        details=[pipeline_info(state, p) for p in pipelines],
        errors=state.registry.errors(),
        durable_mode=state.settings.durable_mode,
        durable=durable_status(state),
    )


async def pipeline_status(state: ServerState, name: str) -> PipelineStatusResponse:
    pipeline = await state.lookup(name)
    if pipeline is None:
        raise PipelineNotFoundError(f"Pipeline '{name}' not found.")
    return PipelineStatusResponse(
        pipeline=name,
        version=pipeline.version,
        kind=pipeline.kind,
        worker=state.worker,
        error=state.registry.errors().get(name),
    )
