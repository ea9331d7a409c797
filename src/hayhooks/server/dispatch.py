"""The hot paths: ``POST /{name}/run`` and the OpenAI chat/responses routes go straight to their handlers,
everything else through FastAPI's router.

FastAPI's router matches a request against every route in turn, through included routers and its exception,
telemetry and exit-stack layers; for a pipeline run that framework work costs several times what the run
itself does. ``HayhooksApp`` builds its ASGI stack as::

    our middleware (worker header, CORS, request id + metrics, auth, rate limit, body limit)
      -> HotPathDispatcher
           POST /{name}/run  -> run handler (plain Starlette endpoint, own error handling)
           POST /v1/chat/completions, /v1/responses (and their aliases) -> the same, for OpenAI clients
           anything else     -> FastAPI's own stack (error middleware, exception handlers, router)

so every request still passes every middleware the app has (including any a user adds with
``app.add_middleware``), and a hot path answers exactly what its route in the router would (the routes stay
registered: they document the API in ``/openapi.json`` and answer other methods with 405).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Container

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from hayhooks.server.errors import error_detail
from hayhooks.server.middleware.routes import run_route_pipeline

logger = logging.getLogger("hayhooks.server")

Endpoint = Callable[[Request], Awaitable[Response]]


def _router_path(scope: Scope) -> str:
    """The path as the router sees it: ``root_path`` removed, trailing slash kept (the router redirects it)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path) and path[len(root_path) : len(root_path) + 1] == "/":
        return path[len(root_path) :]
    return path


def endpoint_app(endpoint: Endpoint, show_tracebacks: bool) -> ASGIApp:
    """A Starlette ``request -> response`` endpoint as an ASGI app, answering errors as the app's handlers do."""

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


class HotPathDispatcher:
    def __init__(
        self,
        framework: ASGIApp,
        run: ASGIApp | None,
        exact: dict[str, ASGIApp],
        mounted_roots: Container[str],
        suffixes: dict[str, ASGIApp] | None = None,
    ) -> None:
        self.framework = framework
        self.run = run
        self.exact = exact  # POST path -> app, e.g. /v1/chat/completions
        self.mounted_roots = mounted_roots  # `/mcp/run` belongs to the MCP mount, not to a pipeline "mcp"
        self.suffixes = suffixes or {}  # POST /{name}<suffix> -> app, e.g. /run-durable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path = _router_path(scope)
            hot = self.exact.get(path)
            if hot is not None:
                await hot(scope, receive, send)
                return
            name = run_route_pipeline(path) if self.run is not None else None
            if name is not None and name not in self.mounted_roots:
                scope["path_params"] = {"name": name}
                await self.run(scope, receive, send)  # type: ignore[misc]
                return
            for suffix, app in self.suffixes.items():
                if path.endswith(suffix) and path.count("/") == 1 + suffix.count("/") and len(path) > len(suffix) + 1:
                    name = path[1 : -len(suffix)]
                    if name not in self.mounted_roots:
                        scope["path_params"] = {"name": name}
                        await app(scope, receive, send)
                        return
        await self.framework(scope, receive, send)


class HayhooksApp(FastAPI):
    """FastAPI, with ``POST /{name}/run`` dispatched before the router (see the module docstring)."""

    run_endpoint: Endpoint | None = None
    show_tracebacks: bool = False
    hot_endpoints: dict[str, Endpoint]  # exact POST paths answered before the router (same answers as its routes)
    hot_suffix_endpoints: dict[str, Endpoint]  # POST /{name}<suffix> answered before the router (e.g. /run-durable)
    _framework_telemetry: bool | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._telemetry_on():
            # FastAPI asks the OpenTelemetry providers on every request whether to trace it; unless one is
            # configured (checked once, on the first request) that is pure overhead, so go straight in.
            if self.root_path:
                scope["root_path"] = self.root_path
            await Starlette.__call__(self, scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def _telemetry_on(self) -> bool:
        if self._framework_telemetry is None:
            telemetry = getattr(self, "_native_telemetry", None)
            self._framework_telemetry = bool(telemetry is not None and telemetry.enabled())
        return self._framework_telemetry

    def build_middleware_stack(self) -> ASGIApp:
        user_middleware = self.user_middleware
        self.user_middleware = []
        try:
            app = super().build_middleware_stack()  # FastAPI's own layers around the router only
        finally:
            self.user_middleware = user_middleware
        hot = getattr(self, "hot_endpoints", {})
        hot_suffixes = getattr(self, "hot_suffix_endpoints", {})
        if self.run_endpoint is not None or hot or hot_suffixes:
            mounted = {route.path.strip("/") for route in self.router.routes if isinstance(route, Mount)}
            run = None if self.run_endpoint is None else endpoint_app(self.run_endpoint, self.show_tracebacks)
            exact = {path: endpoint_app(endpoint, self.show_tracebacks) for path, endpoint in hot.items()}
            suffixes = {s: endpoint_app(endpoint, self.show_tracebacks) for s, endpoint in hot_suffixes.items()}
            app = HotPathDispatcher(app, run, exact, mounted, suffixes)
        for cls, args, kwargs in reversed(user_middleware):
            app = cls(app, *args, **kwargs)
        return app
