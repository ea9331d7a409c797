"""The MCP helpers Hayhooks 2.1.0 users import from ``hayhooks.server.utils.mcp_utils``.

Thin functions over this package's MCP service, for code that builds its own MCP server or calls pipelines as
tools itself::

    from hayhooks.server.utils.mcp_utils import create_mcp_server, create_starlette_app
    app = create_starlette_app(create_mcp_server(), json_response=True)   # /mcp, /sse, GET /status

A ``pipeline_registry`` argument may be an app's ``Registry``, or the process-wide
``hayhooks.server.pipelines.registry.registry`` (or ``None``): then every app of the process is searched.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import AsyncIterator
from typing import Any

from mcp import types
from starlette.applications import Starlette
from starlette.routing import Route

from hayhooks.deploy.service import DeployService
from hayhooks.process_registry import ProcessRegistry
from hayhooks.registry import DeployedPipeline, Registry
from hayhooks.server.bootstrap import build_state
from hayhooks.server.mcp import tools
from hayhooks.server.mcp.app import status
from hayhooks.server.mcp.server import HayhooksMCPServer, MCPService, create_mcp_service
from hayhooks.server.mcp.serving import call_pipeline_tool
from hayhooks.server.mcp.transport import HTTPTransports
from hayhooks.server.state import ServerState
from hayhooks.settings import get_settings


class CoreTools(str, enum.Enum):
    GET_ALL_PIPELINE_STATUSES = "get_all_pipeline_statuses"
    GET_PIPELINE_STATUS = "get_pipeline_status"
    UNDEPLOY_PIPELINE = "undeploy_pipeline"
    DEPLOY_PIPELINE = "deploy_pipeline"


PIPELINE_NAME_SCHEMA = {
    "type": "object",
    "properties": {"pipeline_name": {"type": "string", "description": "Name of the pipeline"}},
    "required": ["pipeline_name"],
}

# The service behind each server ``create_mcp_server`` returned, for ``create_starlette_app``.
_SERVICE_ATTRIBUTE = "_hayhooks_service"


def _registries(pipeline_registry: Any) -> list[Registry]:
    if isinstance(pipeline_registry, Registry):
        return [pipeline_registry]
    if pipeline_registry is None or isinstance(pipeline_registry, ProcessRegistry):
        return ProcessRegistry()._all()
    raise TypeError(f"Expected a hayhooks Registry or the process registry, got {type(pipeline_registry).__name__}.")


def _pipeline_tools(pipeline_registry: Any) -> dict[str, DeployedPipeline]:
    found: dict[str, DeployedPipeline] = {}
    for registry in _registries(pipeline_registry):
        for pipeline in registry.all():
            current = found.get(pipeline.name)
            if tools.is_pipeline_tool(pipeline) and (current is None or pipeline.deployed_at > current.deployed_at):
                found[pipeline.name] = pipeline
    return found


def list_core_tools() -> list[types.Tool]:
    """The four management tools every Hayhooks MCP server lists."""
    return list(tools.core_tool_definitions())


def list_pipelines_as_tools(pipeline_registry: Any = None) -> list[types.Tool]:
    """One tool per deployed pipeline with ``run_api`` (``skip_mcp`` ones left out), sorted by name."""
    pipelines = _pipeline_tools(pipeline_registry)
    return [tools.pipeline_tool(pipelines[name]) for name in sorted(pipelines)]


async def run_pipeline_as_tool(pipeline_registry: Any, name: str, arguments: dict[str, Any]) -> list[Any]:
    """Run pipeline ``name`` with ``arguments`` as an MCP tool call; returns the result's content blocks."""
    pipeline = _pipeline_tools(pipeline_registry).get(name)
    if pipeline is None:
        raise ValueError(f"Pipeline '{name}' not found (or not available as an MCP tool).")
    settings = get_settings()
    registry = Registry()
    state = ServerState(settings=settings, registry=registry, deployer=DeployService(settings, registry))
    result = await call_pipeline_tool(state, pipeline, arguments)
    if result.is_error:
        raise RuntimeError(" ".join(getattr(block, "text", "") for block in result.content))
    return list(result.content)


def create_mcp_server(name: str = "hayhooks-mcp-server", registry: Registry | None = None) -> HayhooksMCPServer:
    """An MCP server over ``registry``, or over a registry of its own that deploys ``HAYHOOKS_PIPELINES_DIR``
    before its first tool list or call. ``name`` is kept for compatibility (the server names itself)."""
    settings = get_settings()
    if registry is None:
        state = build_state(settings)
    else:
        state = ServerState(settings=settings, registry=registry, deployer=DeployService(settings, registry))
        state.ready.set()  # the caller's registry is what it is: nothing to deploy first
    service = create_mcp_service(state)
    setattr(service.server, _SERVICE_ATTRIBUTE, service)
    return service.server


def create_starlette_app(server: HayhooksMCPServer, *, debug: bool = False, json_response: bool = False) -> Starlette:
    """A Starlette app serving ``server`` over Streamable HTTP (``/mcp``) and SSE (``/sse``), with ``GET /status``.

    Run it with its lifespan (``uvicorn``, or ``with TestClient(app)``): the Streamable HTTP session manager
    lives in it. ``json_response``: Streamable HTTP answers with one JSON body instead of an SSE stream.
    """
    service: MCPService | None = getattr(server, _SERVICE_ATTRIBUTE, None)
    if service is None:
        raise TypeError("create_starlette_app() takes a server made by create_mcp_server().")
    transports = HTTPTransports(service, bind_host=service.state.settings.mcp_host, json_response=json_response)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with transports.running():
            yield

    app = Starlette(
        debug=debug, routes=[Route("/status", status, methods=["GET"]), *transports.routes()], lifespan=lifespan
    )
    app.state.hayhooks = service.state
    app.state.mcp_service = service
    return app


__all__ = [
    "PIPELINE_NAME_SCHEMA",
    "CoreTools",
    "create_mcp_server",
    "create_starlette_app",
    "list_core_tools",
    "list_pipelines_as_tools",
    "run_pipeline_as_tool",
]
