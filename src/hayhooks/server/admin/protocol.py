"""Wire models of the management API (shapes as Hayhooks documents them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer


class PipelineFilesRequest(BaseModel):
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


class YamlDeployRequest(BaseModel):
    name: str = Field(description="Name of the pipeline; it is served at /NAME/run.")
    source_code: str = Field(description="Haystack pipeline YAML with `inputs` and `outputs` sections.")
    overwrite: bool = Field(False, description="Replace an existing pipeline of the same name.")
    description: str | None = Field(None, description="Description shown in the API docs and MCP tool list.")
    skip_mcp: bool = Field(False, description="Do not list this pipeline as an MCP tool.")
    save_file: bool = Field(True, description="Save the YAML to the pipelines dir so it deploys again on restart.")


# Schema names as Hayhooks 2.1.0 publishes them in /openapi.json; the descriptive names stay for our own code.
DeployFilesRequest = PipelineFilesRequest
DeployYamlRequest = YamlDeployRequest


class LegacyYamlRequest(BaseModel):
    name: str = Field(description="Name of the pipeline.")
    source_code: str = Field(description="Haystack pipeline YAML with `inputs` and `outputs` sections.")
    overwrite: bool = Field(False, description="Replace an existing pipeline of the same name.")


class SkippedFile(BaseModel):
    path: str = Field(description="The file name as sent.")
    reason: str = Field(description="Why it was neither saved nor loaded.")


class DeployResponse(BaseModel):
    name: str
    success: bool = True
    endpoint: str
    skipped_files: list[SkippedFile] = Field(
        default_factory=list,
        description="Files of the request left out of the pipeline (hidden files such as .env, caches, editor "
        "leftovers), with the reason. Present only when some were.",
    )

    @model_serializer(mode="wrap")
    def _omit_when_none_skipped(self, handler: SerializerFunctionWrapHandler):  # no return type: keeps the schema
        """A request with nothing skipped gets exactly the three fields Hayhooks has always answered."""
        data = handler(self)
        if isinstance(data, dict) and not data.get("skipped_files"):
            data.pop("skipped_files", None)
        return data


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


class DeploymentSummary(BaseModel):
    """One deployed pipeline as Hayhooks 2.1.0's ``/status`` lists it (``details`` has ours)."""

    name: str
    type: Literal["agent", "pipeline", "unknown"]
    execution_mode: Literal["durable", "request-bound"] = "request-bound"
    state: Literal["Loaded", "Healthy", "Degraded"] = "Loaded"
    description: str = ""
    capabilities: list[str] = Field(
        default_factory=list,
        description="Of run_api, chat_completion, responses, file_upload, mcp_eligible (what the wrapper serves).",
    )
    revision: str | None = None
    health: dict[str, object] | None = None
    worker_scope: str = "responding process"
    store_scope: str | None = None
    execution_enumeration: bool = False


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
    deployments: list[DeploymentSummary] = Field(default_factory=list)
    capabilities: dict[str, bool] = Field(default_factory=lambda: {"execution_enumeration": False})


class PipelineStatusResponse(BaseModel):
    status: str = "Up!"
    pipeline: str
    version: str
    kind: str
    worker: str
    error: str | None = None
