"""The tool list: four core tools, then one tool per deployed pipeline that has ``run_api``.

The list is rebuilt from the registry on every ``tools/list``, so it is always what is deployed right now.
A pipeline's ``Tool`` is built once per deployed version and cached on that version.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass
from typing import Any

from mcp import types
from pydantic import BaseModel

from hayhooks.registry import DeployedPipeline, Registry
from hayhooks.server.mcp.schemas import (
    DeployPipelineArguments,
    NoArguments,
    PipelineNameArguments,
    object_schema,
)
from hayhooks.server.mcp.sdk import input_schema_of


@dataclass(frozen=True)
class CoreTool:
    name: str
    description: str
    arguments: type[BaseModel]
    annotations: types.ToolAnnotations

    def definition(self) -> types.Tool:
        return types.Tool(
            name=self.name,
            description=self.description,
            inputSchema=object_schema(self.arguments, tool_name=self.name),
            annotations=self.annotations,
        )


def _hints(title: str, *, read_only: bool, destructive: bool = False, idempotent: bool = True) -> types.ToolAnnotations:
    return types.ToolAnnotations(
        title=title,
        readOnlyHint=read_only,
        destructiveHint=None if read_only else destructive,
        idempotentHint=None if read_only else idempotent,
        openWorldHint=False,
    )


CORE_TOOLS: dict[str, CoreTool] = {
    tool.name: tool
    for tool in (
        CoreTool(
            "get_all_pipeline_statuses",
            "List the deployed pipelines with their status, version and any load errors.",
            NoArguments,
            _hints("Pipeline statuses", read_only=True),
        ),
        CoreTool(
            "get_pipeline_status",
            "Get the status of one deployed pipeline.",
            PipelineNameArguments,
            _hints("Pipeline status", read_only=True),
        ),
        CoreTool(
            "deploy_pipeline",
            "Deploy a pipeline from its files (pipeline_wrapper.py and any other files it reads). It becomes a "
            "REST endpoint and an MCP tool at once.",
            DeployPipelineArguments,
            _hints("Deploy pipeline", read_only=False, destructive=True, idempotent=False),
        ),
        CoreTool(
            "undeploy_pipeline",
            "Undeploy a pipeline: remove its endpoint and tool, and the files a deploy saved for it.",
            PipelineNameArguments,
            _hints("Undeploy pipeline", read_only=False, destructive=True, idempotent=False),
        ),
    )
}


def is_pipeline_tool(pipeline: DeployedPipeline) -> bool:
    """Pipelines with ``run_api`` are tools unless they opted out; core tool names cannot be shadowed."""
    return pipeline.has_run_api and not pipeline.skip_mcp and pipeline.name not in CORE_TOOLS


def tool_description(pipeline: DeployedPipeline) -> str:
    signature = pipeline.run_signature
    summary = signature.description if signature else ""
    return summary or pipeline.description or f"Run the '{pipeline.name}' pipeline."


_pipeline_tools: weakref.WeakKeyDictionary[DeployedPipeline, types.Tool] = weakref.WeakKeyDictionary()


def pipeline_tool(pipeline: DeployedPipeline) -> types.Tool:
    tool = _pipeline_tools.get(pipeline)
    if tool is None:
        assert pipeline.run_signature is not None
        tool = types.Tool(
            name=pipeline.name,
            description=tool_description(pipeline),
            inputSchema=object_schema(pipeline.run_signature.request_model, tool_name=pipeline.name),
        )
        _pipeline_tools[pipeline] = tool
    return tool


@functools.cache
def core_tool_definitions() -> tuple[types.Tool, ...]:
    return tuple(tool.definition() for tool in CORE_TOOLS.values())


def list_tools(registry: Registry) -> list[types.Tool]:
    core = list(core_tool_definitions())
    pipelines = sorted((p for p in registry.all() if is_pipeline_tool(p)), key=lambda p: p.name)
    return core + [pipeline_tool(p) for p in pipelines]


def input_schema(registry: Registry, name: str) -> dict[str, Any] | None:
    """The ``inputSchema`` of tool ``name`` without building the whole list (``None`` when unknown)."""
    if name in CORE_TOOLS:
        return next(input_schema_of(tool) for tool in core_tool_definitions() if tool.name == name)
    pipeline = registry.get(name)
    if pipeline is None or not is_pipeline_tool(pipeline):
        return None
    return input_schema_of(pipeline_tool(pipeline))
