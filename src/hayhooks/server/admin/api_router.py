"""Management routes: deploy, undeploy, status."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from hayhooks.server.admin import serving
from hayhooks.server.admin.protocol import (
    DeployFilesRequest,
    DeployResponse,
    DeployYamlRequest,
    LegacyYamlRequest,
    PipelineStatusResponse,
    StatusResponse,
    UndeployResponse,
)
from hayhooks.server.state import ServerState, get_state


async def ready_state(request: Request) -> ServerState:
    state = get_state(request)
    await state.wait_ready()
    return state


router = APIRouter(tags=["management"])


@router.post("/deploy_files", response_model=DeployResponse, summary="Deploy a pipeline wrapper from its files")
async def deploy_files(body: DeployFilesRequest, state: ServerState = Depends(ready_state)) -> DeployResponse:
    """Deploy (or with `overwrite`, atomically replace) a pipeline from `pipeline_wrapper.py` and its other files.

    409 when the name exists and `overwrite` is false; 422 when the files do not load or `setup()` fails.
    """
    return await serving.deploy_files(state, body)


@router.post("/deploy-yaml", response_model=DeployResponse, summary="Deploy a YAML pipeline")
async def deploy_yaml(body: DeployYamlRequest, state: ServerState = Depends(ready_state)) -> DeployResponse:
    """Deploy a Haystack YAML pipeline that declares `inputs` and `outputs`."""
    return await serving.deploy_yaml(state, body)


@router.post("/deploy", response_model=DeployResponse, summary="Deploy a YAML pipeline (legacy route)", deprecated=True)
async def deploy_legacy(body: LegacyYamlRequest, state: ServerState = Depends(ready_state)) -> DeployResponse:
    """Older form of `/deploy-yaml`, kept for existing clients."""
    request = DeployYamlRequest(name=body.name, source_code=body.source_code, overwrite=body.overwrite)
    return await serving.deploy_yaml(state, request)


@router.post("/undeploy/{name}", response_model=UndeployResponse, summary="Undeploy a pipeline")
async def undeploy(name: str, state: ServerState = Depends(ready_state)) -> UndeployResponse:
    """Remove a pipeline (and the files a deploy request saved for it). 404 when unknown."""
    await serving.undeploy(state, name)
    return UndeployResponse(success=True, name=name)


@router.get("/status", response_model=StatusResponse, summary="Server status and deployed pipelines")
async def status(state: ServerState = Depends(ready_state)) -> StatusResponse:
    return serving.status(state)


@router.get("/status/{name}", response_model=PipelineStatusResponse, summary="Status of one pipeline")
async def pipeline_status(name: str, state: ServerState = Depends(ready_state)) -> PipelineStatusResponse:
    return await serving.pipeline_status(state, name)
