"""The OpenAPI document: the fixed routes plus one ``/NAME/run`` path per deployed pipeline.

Rebuilt only when the registry changes (its ``version`` moves), never per request.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from hayhooks.registry import DeployedPipeline, Registry

logger = logging.getLogger("hayhooks.openapi")
_REF_PREFIX = "#/components/schemas/"


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
            "operationId": f"{pipeline.name}_run",
            "requestBody": {"required": True, "content": content},
            "responses": {
                "200": ok,
                "422": {"description": "Validation error: `detail` lists each invalid field under `loc`."},
                "500": {"description": "The pipeline raised an error; `detail` carries its message."},
            },
        }
    }


class OpenAPIBuilder:
    def __init__(self, app: FastAPI, registry: Registry) -> None:
        self.app = app
        self.registry = registry
        self._base: dict[str, Any] | None = None
        self._cached: dict[str, Any] | None = None
        self._cached_version = -1
        self._parts: dict[str, tuple[DeployedPipeline, tuple[dict[str, Any], dict[str, Any]] | None]] = {}

    def _base_document(self) -> dict[str, Any]:
        if self._base is None:
            app = self.app
            self._base = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                servers=app.servers or None,
            )
        return self._base

    def _pipeline_part(self, pipeline: DeployedPipeline) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Path item and schemas of one pipeline, computed once per deployed version."""
        cached = self._parts.get(pipeline.name)
        if cached is not None and cached[0] is pipeline:
            return cached[1]
        schemas: dict[str, Any] = {}
        try:
            part = (_path_item(pipeline, schemas), schemas)
        except Exception as exc:  # a type pydantic cannot describe must not break the whole document
            logger.warning("No OpenAPI schema for pipeline '%s': %s", pipeline.name, exc)
            part = None
        self._parts[pipeline.name] = (pipeline, part)
        return part

    def __call__(self) -> dict[str, Any]:
        version = self.registry.version
        if self._cached is not None and self._cached_version == version:
            return self._cached
        base = self._base_document()
        document = {**base, "paths": dict(base.get("paths", {}))}
        components = dict(base.get("components", {}))
        schemas = dict(components.get("schemas", {}))
        deployed = sorted(self.registry.all(), key=lambda p: p.name)
        for pipeline in deployed:
            part = self._pipeline_part(pipeline) if pipeline.run_signature is not None else None
            if part is not None:
                document["paths"][pipeline.endpoint] = part[0]
                schemas.update(part[1])
        names = {p.name for p in deployed}
        for stale in [name for name in self._parts if name not in names]:
            del self._parts[stale]
        document["components"] = {**components, "schemas": schemas}
        self._cached, self._cached_version = document, version
        return document
