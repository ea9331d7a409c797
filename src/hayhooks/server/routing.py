"""How a request finds its endpoint: the app, its middleware, and the route table in front of FastAPI's router.

``HayhooksApp`` (the FastAPI app ``create_app`` returns) builds its ASGI stack as::

    our middleware (worker header, CORS, request id + metrics, auth, rate limit, body limit)
      -> RouteTable
           POST to the exact path of a fast endpoint   -> that endpoint    e.g. /v1/chat/completions
           POST /{name}/<action>                       -> that action's endpoint  e.g. /{name}/run
           anything else -> FastAPI's own stack (error middleware, exception handlers, router)

A fast endpoint is a plain ``Request -> Response`` function marked with ``@fast_endpoint`` and registered as an
ordinary route of the app: that route documents it in ``/openapi.json`` and answers other methods (405). The table
lets a POST reach the same function without the router's matching, dependency and exit-stack work, which costs
several times what the endpoint itself does. It is built once, from the app's routes, with the middleware stack,
so every request still passes every middleware (including any a user adds with ``app.add_middleware``).

FastAPI also asks OpenTelemetry on every request whether to trace it. Unless a tracer or meter provider is set
(checked once, on the first request), the app skips that question and goes straight to the stack above.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

try:  # recent FastAPI keeps included routers nested; this walks them, giving each route's full path
    from fastapi.routing import iter_route_contexts
except ImportError:  # older FastAPI copies included routes into the app's own list
    iter_route_contexts = None  # type: ignore[assignment]

from hayhooks.server.errors import error_detail

logger = logging.getLogger("hayhooks.server")

Endpoint = Callable[[Request], Awaitable[Response]]
E = TypeVar("E", bound=Endpoint)
PIPELINE_PREFIX = "/{name}/"  # a fast path is exact, or a pipeline's action: /{name}/run, /{name}/run-durable
RUN_PATH = PIPELINE_PREFIX + "run"


def fast_endpoint(endpoint: E) -> E:
    """Mark ``endpoint`` to be answered from the route table for POST (it reads and validates its body itself)."""
    endpoint.fast_endpoint = True  # type: ignore[attr-defined]
    return endpoint


_BODY_MODELS: dict[str, type[BaseModel]] = {}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a required JSON body of ``model`` (for a route whose endpoint reads it):
    a reference to ``model``'s component schema, which ``/openapi.json`` adds (see ``body_models``)."""
    _BODY_MODELS[model.__name__] = model
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"content": {"application/json": {"schema": schema}}, "required": True}}


def body_models() -> list[type[BaseModel]]:
    """The models ``json_body`` documented: their schemas belong in the OpenAPI document's components."""
    return list(_BODY_MODELS.values())


def endpoint_app(endpoint: Endpoint, show_tracebacks: bool) -> ASGIApp:
    """A ``Request -> Response`` endpoint as an ASGI app, answering errors as the app's handlers do."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except ClientDisconnect:  # the client left before sending its whole body: nobody to answer
            return
        except HTTPException as exc:  # e.g. 413 from the body limit while the body is read, 400 bad multipart
            response = JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        except Exception as exc:
            logger.exception("Unhandled error on %s %s", request.method, request.url.path)
            response = JSONResponse({"detail": error_detail(exc, show_tracebacks)}, status_code=500)
        await response(scope, receive, send)

    return app


def _router_path(scope: Scope) -> str:
    """The path as the router sees it: ``root_path`` removed, trailing slash kept (the router redirects it)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path) and path[len(root_path) : len(root_path) + 1] == "/":
        return path[len(root_path) :]
    return path


@dataclass(frozen=True)
class _Entry:
    path: str
    methods: frozenset[str]
    endpoint: Any
    mount: bool


def _entries(routes: Iterable[BaseRoute]) -> Iterator[_Entry]:
    """Every route with its full path, through included routers."""
    contexts = iter_route_contexts(list(routes)) if iter_route_contexts is not None else routes
    for route in contexts:
        original = getattr(route, "original_route", route)
        path = getattr(route, "path", None)
        if path is not None:
            methods = frozenset(getattr(route, "methods", None) or ())
            yield _Entry(path, methods, getattr(route, "endpoint", None), isinstance(original, Mount))


class RouteTable:
    """POST requests to fast endpoints go straight to them; everything else to ``framework``."""

    def __init__(self, framework: ASGIApp, routes: Iterable[BaseRoute], *, show_tracebacks: bool) -> None:
        self.framework = framework
        self.exact: dict[str, ASGIApp] = {}  # POST path -> endpoint, e.g. /v1/chat/completions
        self.per_pipeline: dict[str, ASGIApp] = {}  # POST /{name}/<action> by action, e.g. "run", "run-durable"
        self.mounted_roots: set[str] = set()  # `/mcp/run` belongs to the MCP mount, not to a pipeline "mcp"
        for entry in _entries(routes):
            if entry.mount:
                self.mounted_roots.add(entry.path.strip("/"))
            elif hasattr(entry.endpoint, "fast_endpoint") and "POST" in entry.methods:
                app = endpoint_app(entry.endpoint, show_tracebacks)
                if entry.path.startswith(PIPELINE_PREFIX) and "{" not in entry.path[len(PIPELINE_PREFIX) :]:
                    self.per_pipeline[entry.path[len(PIPELINE_PREFIX) :]] = app
                elif "{" in entry.path:
                    raise ValueError(f"A fast endpoint's path is exact or {PIPELINE_PREFIX}<action>, not {entry.path}")
                else:
                    self.exact[entry.path] = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path = _router_path(scope)
            endpoint = self.exact.get(path)
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
            name, _, action = path[1:].partition("/")
            endpoint = self.per_pipeline.get(action)
            if endpoint is not None and name and name not in self.mounted_roots:
                scope["path_params"] = {"name": name}
                await endpoint(scope, receive, send)
                return
        await self.framework(scope, receive, send)


def opentelemetry_configured() -> bool:
    """Whether FastAPI's per-request telemetry could record anything: a tracer or meter provider is set (the
    OpenTelemetry API hands out deferred proxies until one is), or FastAPI is asked to set them up."""
    from opentelemetry import metrics, trace

    if os.getenv("FASTAPI_OTEL_AUTO_CONFIGURE", "").lower() == "true":
        return True
    tracer_unset = isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    meter_unset = type(metrics.get_meter_provider()).__name__ == "_ProxyMeterProvider"
    return not (tracer_unset and meter_unset)


def accept_prefixed_path(scope: Scope, root_path: str) -> None:
    """Serve ``/api/status`` as well as ``/status`` under root path ``/api`` (a proxy that keeps the prefix).

    uvicorn (``--root-path``) puts the root path in front of every request path, so a request that already
    carries it arrives as ``/api/api/status``: the repeated prefix is dropped.
    """
    path: str = scope["path"]
    doubled = root_path + root_path
    if path.startswith(doubled) and path[len(doubled) : len(doubled) + 1] in ("/", ""):
        scope["path"] = path[len(root_path) :]


class HayhooksApp(FastAPI):
    """FastAPI, with the route table in front of its router (see the module docstring)."""

    def __init__(self, *, show_tracebacks: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.show_tracebacks = show_tracebacks  # how the route table answers an endpoint's unexpected error
        self._framework_telemetry: bool | None = None  # decided on the first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.root_path and scope["type"] in ("http", "websocket"):
            accept_prefixed_path(scope, self.root_path.rstrip("/"))
        if scope["type"] == "http":
            if self._framework_telemetry is None:
                self._framework_telemetry = opentelemetry_configured()
            if not self._framework_telemetry:
                if self.root_path:
                    scope["root_path"] = self.root_path
                await Starlette.__call__(self, scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def build_middleware_stack(self) -> ASGIApp:
        user_middleware = self.user_middleware
        self.user_middleware = []
        try:
            app = super().build_middleware_stack()  # FastAPI's own layers around the router only
        finally:
            self.user_middleware = user_middleware
        app = RouteTable(app, self.router.routes, show_tracebacks=self.show_tracebacks)
        for cls, args, kwargs in reversed(user_middleware):
            app = cls(app, *args, **kwargs)
        return app
