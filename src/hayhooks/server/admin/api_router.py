"""Management routes: deploy, undeploy, status."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, Response

from hayhooks.server.admin import draw, serving
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


@router.post(
    "/deploy_files",
    operation_id="pipeline_deploy",
    response_model=DeployResponse,
    summary="Deploy a pipeline wrapper from its files",
)
async def deploy_files(body: DeployFilesRequest, state: ServerState = Depends(ready_state)) -> DeployResponse:
    """Deploy (or with `overwrite`, atomically replace) a pipeline from `pipeline_wrapper.py` and its other files.

    409 when the name exists and `overwrite` is false; 422 when the files do not load or `setup()` fails.
    """
    return await serving.deploy_files(state, body)


@router.post(
    "/deploy-yaml", operation_id="yaml_pipeline_deploy", response_model=DeployResponse, summary="Deploy a YAML pipeline"
)
async def deploy_yaml(body: DeployYamlRequest, state: ServerState = Depends(ready_state)) -> DeployResponse:
    """Deploy a Haystack YAML pipeline that declares `inputs` and `outputs`."""
    return await serving.deploy_yaml(state, body)


@router.post("/deploy", response_model=DeployResponse, summary="Deploy a YAML pipeline (legacy route)", deprecated=True)
async def deploy_legacy(body: LegacyYamlRequest, state: ServerState = Depends(ready_state)) -> DeployResponse:
    """Older form of `/deploy-yaml`, kept for existing clients."""
    request = DeployYamlRequest(name=body.name, source_code=body.source_code, overwrite=body.overwrite)
    return await serving.deploy_yaml(state, request)


@router.post(
    "/undeploy/{pipeline_name}",
    operation_id="pipeline_undeploy",
    response_model=UndeployResponse,
    summary="Undeploy a pipeline",
)
async def undeploy(pipeline_name: str, state: ServerState = Depends(ready_state)) -> UndeployResponse:
    """Remove a pipeline (and the files a deploy request saved for it). 404 when unknown."""
    await serving.undeploy(state, pipeline_name)
    return UndeployResponse(success=True, name=pipeline_name)


@router.get(
    "/status", operation_id="status_all", response_model=StatusResponse, summary="Server status and deployed pipelines"
)
async def status(state: ServerState = Depends(ready_state)) -> StatusResponse:
    return serving.status(state)


@router.get(
    "/status/{pipeline_name}",
    operation_id="status_pipeline",
    response_model=PipelineStatusResponse,
    summary="Status of one pipeline",
)
async def pipeline_status(pipeline_name: str, state: ServerState = Depends(ready_state)) -> PipelineStatusResponse:
    return await serving.pipeline_status(state, pipeline_name)


@router.get(
    "/draw/{pipeline_name}",
    operation_id="pipeline_draw",
    response_class=PlainTextResponse,
    summary="The pipeline's graph as a Mermaid diagram (or an SVG picture)",
    responses={
        200: {
            "content": {"text/plain": {}, "image/svg+xml": {}},
            "description": "Mermaid flowchart text, or with format=svg an SVG picture (both drawn offline)",
        },
        404: {"description": "Unknown pipeline, or a wrapper without a Haystack pipeline"},
    },
)
async def pipeline_draw(
    pipeline_name: str,
    image_format: Literal["mermaid", "svg"] = Query(
        "mermaid", alias="format", description="mermaid: flowchart text; svg: a picture."
    ),
    state: ServerState = Depends(ready_state),
) -> Response:
    """Built from the pipeline's own graph, here: no internet needed. Paste the text in any Mermaid viewer."""
    pipeline = await state.lookup(pipeline_name)
    if pipeline is None:
        raise HTTPException(404, f"Pipeline '{pipeline_name}' not found")
    try:
        text, media_type = draw.draw(pipeline.wrapper, pipeline_name, image_format)
    except draw.NothingToDrawError as exc:
        raise HTTPException(404, str(exc)) from None
    return Response(text, media_type=media_type)
