"""The OpenAPI document: the fixed routes plus each deployed pipeline's own paths (``/NAME/run``, and the durable
routes ``/NAME/run-durable``, ``/NAME/executions/...`` of a durable one).

A deploy must not cost more with many pipelines deployed than with none, so the document is kept in parts:

* the fixed part (FastAPI's ``get_openapi`` over the app's routes) is built once per set of routes;
* each pipeline's path item and component schemas are generated, and encoded to JSON, once per deployed
  version (the ``DeployedPipeline`` entry the registry holds);
* when the registry's ``version`` moves, the document is assembled from those parts: a merge of two small
  dicts of already encoded members and one join of byte strings, no schema generation and no re-encoding
  of unchanged parts. ``GET /openapi.json`` answers these bytes, kept until the next change.

``app.openapi()`` still returns the document as a dict, with the same content, built from the same parts.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from operator import attrgetter
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hayhooks.registry import DeployedPipeline, Registry
from hayhooks.server.routing import body_models

logger = logging.getLogger("hayhooks.openapi")
_REF_PREFIX = "#/components/schemas/"
# Encodes exactly like starlette's JSONResponse, so joined members equal the encoding of the whole document.
_dumps = partial(json.dumps, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
Member = tuple[Any, bytes]  # a value and its encoded ``"key":value`` member


def _member(key: str, value: Any) -> Member:
    return value, f"{_dumps(key)}:{_dumps(value)}".encode()


def _object(members: Any) -> bytes:
    return b"{" + b",".join(members) + b"}"


def _model_schema(model: type[BaseModel], prefix: str, schemas: dict[str, Any]) -> dict[str, Any]:
    """Add ``model`` (and its nested models, prefixed to avoid clashes between pipelines) to ``schemas``."""
    schema = model.model_json_schema(ref_template=_REF_PREFIX + prefix + "{model}")
    for def_name, definition in schema.pop("$defs", {}).items():
        schemas[prefix + def_name] = definition
    schemas[model.__name__] = schema
    return {"$ref": _REF_PREFIX + model.__name__}


def _multipart_schema(pipeline: DeployedPipeline) -> dict[str, Any]:
    signature = pipeline.run_signature
    assert signature is not None
    schema = signature.request_model.model_json_schema()
    schema.pop("$defs", None)
    properties = schema.setdefault("properties", {})
    for name in signature.file_params:
        properties[name] = {"type": "array", "items": {"type": "string", "format": "binary"}}
    return schema


def _run_operation_id(name: str) -> str:
    """The id FastAPI derives for ``POST /NAME/run`` (what Hayhooks 2.1.0 publishes and clients generate from)."""
    return re.sub(r"\W", "_", f"{name}_run/{name}/run") + "_post"


def _path_item(pipeline: DeployedPipeline, schemas: dict[str, Any]) -> dict[str, Any]:
    signature = pipeline.run_signature
    assert signature is not None
    prefix = f"{pipeline.name}__"
    if signature.file_params:
        content = {"multipart/form-data": {"schema": _multipart_schema(pipeline)}}
    else:
        content = {"application/json": {"schema": _model_schema(signature.request_model, prefix, schemas)}}
    ok: dict[str, Any] = {"description": "Pipeline result"}
    if signature.response_model is not None:
        ok["content"] = {"application/json": {"schema": _model_schema(signature.response_model, prefix, schemas)}}
    return {
        "post": {
            "tags": ["pipelines"],
            "summary": f"Run {pipeline.name}",
            "description": pipeline.description or f"Run the '{pipeline.name}' pipeline.",
            "operationId": _run_operation_id(pipeline.name),
            "requestBody": {"required": True, "content": content},
            "responses": {
                "200": ok,
                "422": {"description": "Validation error: `detail` lists each invalid field under `loc`."},
                "500": {"description": "The pipeline raised an error; `detail` carries its message."},
            },
        }
    }


@dataclass(eq=False)
class _Fixed:
    """FastAPI's document for the app's own routes, split into encoded members."""

    routes: tuple[BaseRoute, ...]
    routes_version: int | None
    document: dict[str, Any]
    top: list[str]  # top-level keys in document order ("paths" and "components" included)
    top_members: dict[str, bytes]  # every top-level member but "paths" and "components"
    paths: dict[str, Member]
    components: list[str]  # keys of "components" in order ("schemas" included)
    components_members: dict[str, bytes]  # every member of "components" but "schemas"
    schemas: dict[str, Member]
    server_urls: frozenset[Any]

    @classmethod
    def build(cls, app: FastAPI, routes: tuple[BaseRoute, ...], routes_version: int | None) -> _Fixed:
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=list(routes),
            servers=app.servers or None,
        )
        components = document.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for model in body_models():  # request bodies of fast endpoints (``routing.json_body``)
            if model.__name__ not in schemas:
                _model_schema(model, "", schemas)
        top = list(document) + [key for key in ("paths", "components") if key not in document]
        return cls(
            routes=routes,
            routes_version=routes_version,
            document=document,
            top=top,
            top_members={k: _member(k, v)[1] for k, v in document.items() if k not in ("paths", "components")},
            paths={path: _member(path, item) for path, item in document.get("paths", {}).items()},
            components=list(components) + ([] if "schemas" in components else ["schemas"]),
            components_members={k: _member(k, v)[1] for k, v in components.items() if k != "schemas"},
            schemas={name: _member(name, schema) for name, schema in components.get("schemas", {}).items()},
            server_urls=frozenset(server.get("url") for server in document.get("servers", [])),
        )


@dataclass(eq=False)
class _Part:
    """One deployed pipeline's path items and component schemas, with their encoded members."""

    pipeline: DeployedPipeline
    paths: dict[str, Member] = field(default_factory=dict)  # empty: no schema could be made for this pipeline
    schemas: dict[str, Member] = field(default_factory=dict)


def _documented(pipeline: DeployedPipeline) -> bool:
    return pipeline.run_signature is not None or "durable" in pipeline.state


def _path_items(pipeline: DeployedPipeline, schemas: dict[str, Any]) -> dict[str, Any]:
    items: dict[str, Any] = {}
    if pipeline.run_signature is not None:
        items[pipeline.endpoint] = _path_item(pipeline, schemas)
    spec = pipeline.state.get("durable")
    if spec is not None:
        from hayhooks.server.durable.openapi_paths import durable_path_items  # its models load with the first one

        prefix = f"{pipeline.name}__"
        items.update(durable_path_items(pipeline.name, spec, lambda model: _model_schema(model, prefix, schemas)))
    return items


@dataclass(eq=False)
class _Snapshot:
    """The document at one registry version, assembled lazily as a dict and/or as JSON bytes."""

    version: int
    fixed: _Fixed
    paths: dict[str, Member]
    schemas: dict[str, Member]
    _document: dict[str, Any] | None = None
    _body: bytes | None = None

    def document(self) -> dict[str, Any]:
        if self._document is None:
            fixed = self.fixed
            components = fixed.document.get("components", {})
            document: dict[str, Any] = {}
            for key in fixed.top:
                if key == "paths":
                    document[key] = {path: member[0] for path, member in self.paths.items()}
                elif key == "components":
                    document[key] = {
                        name: {k: m[0] for k, m in self.schemas.items()} if name == "schemas" else components[name]
                        for name in fixed.components
                    }
                else:
                    document[key] = fixed.document[key]
            self._document = document
        return self._document

    def body(self) -> bytes:
        if self._body is None:
            fixed = self.fixed
            members = []
            for key in fixed.top:
                if key == "paths":
                    members.append(b'"paths":' + _object(member[1] for member in self.paths.values()))
                elif key == "components":
                    schemas = b'"schemas":' + _object(member[1] for member in self.schemas.values())
                    others = fixed.components_members
                    inner = (schemas if name == "schemas" else others[name] for name in fixed.components)
                    members.append(b'"components":' + _object(inner))
                else:
                    members.append(fixed.top_members[key])
            self._body = _object(members)
        return self._body


class OpenAPIBuilder:
    """``app.openapi``: the document as a dict; ``render()`` gives it encoded, as ``GET /openapi.json`` serves it."""

    def __init__(self, app: FastAPI, registry: Registry, ready: Callable[[], Awaitable[None]] | None = None) -> None:
        self.app = app
        self.registry = registry
        self.ready = ready  # awaited before answering: the document lists the pipelines deployed at startup
        self._fixed: _Fixed | None = None
        self._parts: dict[str, _Part] = {}
        self._snapshot: _Snapshot | None = None
        self._lock = threading.RLock()

    def _fixed_part(self) -> _Fixed:
        """The fixed routes' document, rebuilt only when the app's routes change."""
        router = self.app.router
        routes = tuple(router.routes)
        get_version = getattr(router, "_get_routes_version", None)  # FastAPI counts changes in included routers
        routes_version = get_version() if callable(get_version) else None
        with self._lock:
            fixed = self._fixed
            if (
                fixed is None
                or fixed.routes_version != routes_version
                or len(fixed.routes) != len(routes)
                or any(old is not new for old, new in zip(fixed.routes, routes, strict=True))
            ):
                fixed = self._fixed = _Fixed.build(self.app, routes, routes_version)
            return fixed

    def _pipeline_part(self, pipeline: DeployedPipeline) -> _Part:
        """Path item and schemas of one pipeline, generated and encoded once per deployed version."""
        part = self._parts.get(pipeline.name)
        if part is not None and part.pipeline is pipeline:
            return part
        schemas: dict[str, Any] = {}
        try:
            paths = {path: _member(path, item) for path, item in _path_items(pipeline, schemas).items()}
            part = _Part(pipeline, paths, {name: _member(name, schema) for name, schema in schemas.items()})
        except Exception as exc:  # a type pydantic (or JSON) cannot describe must not break the whole document
            logger.warning("No OpenAPI schema for pipeline '%s': %s", pipeline.name, exc)
            part = _Part(pipeline)
        self._parts[pipeline.name] = part
        return part

    def snapshot(self) -> _Snapshot:
        """The document at the registry's current version: O(pipelines) dict merges, nothing regenerated."""
        with self._lock:  # app.openapi() may also be called from threads other than the event loop's
            version = self.registry.version
            fixed = self._fixed_part()
            snapshot = self._snapshot
            if snapshot is not None and snapshot.version == version and snapshot.fixed is fixed:
                return snapshot
            paths = dict(fixed.paths)
            schemas = dict(fixed.schemas)
            live = 0
            for pipeline in sorted(self.registry.all(), key=attrgetter("name")):
                if not _documented(pipeline):
                    continue
                part = self._pipeline_part(pipeline)
                live += 1
                paths.update(part.paths)
                schemas.update(part.schemas)
            if len(self._parts) != live:  # drop the parts of undeployed pipelines (they hold the wrappers)
                current = {name: part for name, part in self._parts.items() if self.registry.get(name) is part.pipeline}
                self._parts = current
            snapshot = self._snapshot = _Snapshot(version, fixed, paths, schemas)
            return snapshot

    def __call__(self) -> dict[str, Any]:
        return self.snapshot().document()

    def render(self) -> bytes:
        """The document encoded as starlette's ``JSONResponse`` would encode ``self()``."""
        return self.snapshot().body()

    async def endpoint(self, request: Request) -> Response:
        """``GET /openapi.json``: FastAPI's own route, answering the cached bytes."""
        if self.ready is not None:
            await self.ready()
        if self.app.openapi is not self:  # the user replaced app.openapi (e.g. to add a security scheme): serve that
            return JSONResponse(self.app.openapi())
        root_path = request.scope.get("root_path", "").rstrip("/")
        if root_path and self.app.root_path_in_servers and root_path not in self._fixed_part().server_urls:
            # Served under a prefix the document does not list yet (as FastAPI does: put it first).
            document = self()
            return JSONResponse({**document, "servers": [{"url": root_path}, *document.get("servers", [])]})
        return Response(self.render(), media_type="application/json")


def install_openapi(
    app: FastAPI, registry: Registry, ready: Callable[[], Awaitable[None]] | None = None
) -> OpenAPIBuilder:
    """Make ``app.openapi()`` and ``GET {app.openapi_url}`` serve the document of ``registry``'s pipelines (once
    ``ready()`` returned: the startup deploy is done)."""
    builder = OpenAPIBuilder(app, registry, ready)
    app.openapi = builder  # type: ignore[method-assign]
    routes = app.router.routes
    for index, route in enumerate(routes):
        if app.openapi_url and isinstance(route, Route) and route.path == app.openapi_url:
            routes[index] = Route(app.openapi_url, builder.endpoint, name=route.name, include_in_schema=False)
            break
    return builder
