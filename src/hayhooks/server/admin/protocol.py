"""Wire models of the management API (shapes as Hayhooks documents them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class DeployFilesRequest(BaseModel):
    name: str = Field(description="Name of the pipeline; it is served at /NAME/run.")
    files: dict[str, str] = Field(
        description="File name -> content; must include pipeline_wrapper.py. Names are relative to the folder.",
        examples=[{"pipeline_wrapper.py": "from hayhooks import BasePipelineWrapper\n..."}],
    )
    overwrite: bool = Field(False, description="Replace an existing pipeline of the same name.")
    save_files: bool = Field(True, description="Save the files to the pipelines dir so they deploy again on restart.")
    skip_mcp: bool = Field(False, description="Do not list this pipeline as an MCP tool.")
    description: str | None = Field(
        None, description="Description shown in the API docs and MCP tool list (default: the run_api docstring)."
    )


class DeployYamlRequest(BaseModel):
    name: str = Field(description="Name of the pipeline; it is served at /NAME/run.")
    source_code: str = Field(description="Haystack pipeline YAML with `inputs` and `outputs` sections.")
    overwrite: bool = Field(False, description="Replace an existing pipeline of the same name.")
    description: str | None = Field(None, description="Description shown in the API docs and MCP tool list.")
    skip_mcp: bool = Field(False, description="Do not list this pipeline as an MCP tool.")
    save_file: bool = Field(True, description="Save the YAML to the pipelines dir so it deploys again on restart.")


class LegacyYamlRequest(BaseModel):
    name: str = Field(description="Name of the pipeline.")
    source_code: str = Field(description="Haystack pipeline YAML with `inputs` and `outputs` sections.")
    overwrite: bool = Field(False, description="Replace an existing pipeline of the same name.")


class DeployResponse(BaseModel):
    name: str
    success: bool = True
    endpoint: str


class UndeployResponse(BaseModel):
    success: bool = True
    name: str


class PipelineInfo(BaseModel):
    name: str
    kind: str
    version: str
    endpoint: str | None
    source: str
    saved: bool
    description: str = ""
    error: str | None = Field(
        None, description="Last load error of a newer version that failed (old one still serves)."
    )


class StatusResponse(BaseModel):
    status: str = "Up!"
    pipelines: list[str]
    worker: str
    details: list[PipelineInfo] = []
    errors: dict[str, str] = Field(default_factory=dict, description="Pipelines that failed to load, with the reason.")
    durable_mode: bool = Field(False, description="HAYHOOKS_DURABLE_MODE (Hayhooks 2.1.0 compatibility).")
    durable: dict[str, Any] | None = Field(
        None, description="Durable executions: store, workers of this process, and each durable pipeline's revision."
    )


class PipelineStatusResponse(BaseModel):
    status: str = "Up!"
    pipeline: str
    version: str
    kind: str
    worker: str
    error: str | None = None
