"""JSON schemas of tool inputs, the core tools' argument models, and validation messages.

Pipeline tool schemas come from the request model built from ``run_api``'s signature, so the MCP tool, the
REST route and the OpenAPI document always describe the same inputs. ``$ref``s into ``$defs`` are inlined
because several MCP clients do not resolve them; only recursive models keep their ``$defs``.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

logger = logging.getLogger("hayhooks.mcp")

_DEFS_PREFIX = "#/$defs/"


def _inline(node: Any, defs: dict[str, Any], expanding: frozenset[str]) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs, expanding) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_DEFS_PREFIX):
        key = ref[len(_DEFS_PREFIX) :]
        if key in defs and key not in expanding:
            target = _inline(defs[key], defs, expanding | {key})
            siblings = {k: _inline(v, defs, expanding) for k, v in node.items() if k != "$ref"}
            return {**target, **siblings}
        return node
    return {k: _inline(v, defs, expanding) for k, v in node.items() if k != "$defs"}


def _has_ref(node: Any) -> bool:
    if isinstance(node, dict):
        return "$ref" in node or any(_has_ref(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_ref(v) for v in node)
    return False


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace local ``$ref``s by their definitions; keep ``$defs`` only when a recursive ref remains."""
    defs = schema.get("$defs") or {}
    inlined = _inline(schema, defs, frozenset())
    if defs and _has_ref(inlined):
        inlined["$defs"] = defs
    return inlined


def object_schema(model: type[BaseModel], *, tool_name: str) -> dict[str, Any]:
    """The tool ``inputSchema`` for ``model``: always an object schema, even when generation fails."""
    try:
        schema = inline_refs(model.model_json_schema())
    except Exception as exc:  # arbitrary annotations may have no JSON schema
        logger.warning("Tool '%s': input schema could not be generated (%s); publishing a bare object", tool_name, exc)
        return {"type": "object"}
    schema.pop("title", None)
    schema["type"] = "object"
    schema.setdefault("properties", {})
    return schema


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, each naming the argument (``files.0.name: Field required``)."""
    problems = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error.get("loc", ())) or "arguments"
        problems.append(f"{location}: {error.get('msg', 'invalid value')}")
    return "; ".join(problems)


# --- core tool arguments ---------------------------------------------------------------------------------


class NoArguments(BaseModel):
    pass


class PipelineNameArguments(BaseModel):
    pipeline_name: str = Field(description="Name of a deployed pipeline.")


class PipelineFile(BaseModel):
    name: str = Field(description="Path of the file inside the pipeline folder, e.g. `pipeline_wrapper.py`.")
    content: str = Field(description="Full text content of the file.")


class DeployPipelineArguments(BaseModel):
    name: str = Field(description="Name of the pipeline: the tool name and the REST route /NAME/run.")
    files: list[PipelineFile] = Field(
        min_length=1,
        description="Files of the pipeline folder; must include `pipeline_wrapper.py` defining `PipelineWrapper`.",
    )
    save_files: bool = Field(True, description="Save the files to the pipelines dir so they deploy again on restart.")
    overwrite: bool = Field(False, description="Replace an existing pipeline with the same name.")

    @field_validator("files")
    @classmethod
    def _unique_names(cls, files: list[PipelineFile]) -> list[PipelineFile]:
        names = [f.name for f in files]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate file name(s): {', '.join(duplicates)}")
        return files

    def files_by_name(self) -> dict[str, str]:
        return {f.name: f.content for f in self.files}
