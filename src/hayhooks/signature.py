"""Request and response models derived from a ``run_api`` signature and its docstring.

Built once per deploy; the run route validates bodies with them and the OpenAPI document and MCP tool
schemas are generated from them.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.datastructures import Headers, UploadFile
from starlette.responses import Response


@dataclass(frozen=True)
class RunSignature:
    request_model: type[BaseModel]
    response_model_factory: Callable[[], type[BaseModel]] | None
    file_params: tuple[str, ...]
    description: str
    param_descriptions: dict[str, str]

    @functools.cached_property
    def response_model(self) -> type[BaseModel] | None:
        """Built when first needed: only the OpenAPI document reads it, and building it at every deploy was a
        sixth of a pipeline's deploy time (pydantic model classes are costly to create)."""
        factory = self.response_model_factory
        return factory() if factory is not None else None


def model_name(pipeline_name: str, suffix: str) -> str:
    """``{pipeline_name}{suffix}``, e.g. ``chat_ragRunRequest``: the schema names Hayhooks 2.1.0 publishes."""
    return f"{pipeline_name}{suffix}"


def is_upload_annotation(annotation: Any) -> bool:
    """``UploadFile``, ``list[UploadFile]`` and their ``Optional`` forms."""
    if annotation is inspect.Parameter.empty:
        return False
    if isinstance(annotation, type) and issubclass(annotation, UploadFile):
        return True
    return any(is_upload_annotation(arg) for arg in get_args(annotation) if arg is not type(None))


def is_streaming_or_raw(annotation: Any) -> bool:
    """Return annotations that produce no JSON body: generators and Starlette responses."""
    origin = get_origin(annotation) or annotation
    if isinstance(origin, type):
        if issubclass(origin, Response):
            return True
        if issubclass(origin, (Iterator, AsyncIterator)):
            return True
    if get_origin(annotation) is typing.Union:
        return any(is_streaming_or_raw(arg) for arg in get_args(annotation))
    return False


HEADERS_PARAM = "headers"
# Methods whose every argument comes from the server: a ``headers`` parameter there always receives the headers.
_OPENAI_METHODS = frozenset({"run_chat_completion", "run_chat_completion_async", "run_response", "run_response_async"})


class HeadersParameterError(ValueError):
    """A ``headers: Headers`` parameter the server cannot fill as declared (it must default to ``None``)."""


def is_headers_annotation(annotation: Any) -> bool:
    """``Headers`` and ``Headers | None`` (Starlette's, also exported by FastAPI)."""
    if isinstance(annotation, type):
        return issubclass(annotation, Headers)
    if isinstance(annotation, str):
        return annotation.replace(" ", "") in ("Headers", "Headers|None", "Optional[Headers]", "None|Headers")
    return any(is_headers_annotation(arg) for arg in get_args(annotation) if arg is not type(None))


def wants_headers(method_name: str, func: Callable) -> bool:
    """Whether the server passes the request's headers to ``func`` as ``headers=``.

    ``run_api(_async)`` gets them for a parameter ``headers: Headers | None = None`` (any other ``headers``
    parameter is an ordinary body field); the OpenAI methods for any parameter named ``headers``.
    """
    try:
        param = inspect.signature(func).parameters.get(HEADERS_PARAM)
    except (TypeError, ValueError):
        return False
    if param is None or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
        return False
    if method_name in _OPENAI_METHODS:
        return True
    try:
        annotation = typing.get_type_hints(func).get(HEADERS_PARAM, param.annotation)
    except Exception:
        annotation = param.annotation
    if not is_headers_annotation(annotation):
        return False
    if param.default is not None or param.kind is param.POSITIONAL_ONLY:
        raise HeadersParameterError(
            f"{method_name}: request headers must be declared as a keyword parameter "
            f"'{HEADERS_PARAM}: Headers | None = None'"
        )
    return True


def parse_docstring(func: Callable) -> tuple[str, dict[str, str]]:
    doc = inspect.getdoc(func) or ""
    if not doc:
        return "", {}
    import docstring_parser  # loaded with the first wrapper that has a docstring, not with the server

    parsed = docstring_parser.parse(doc)
    summary = "\n\n".join(p for p in (parsed.short_description, parsed.long_description) if p)
    params = {p.arg_name: (p.description or "").strip() for p in parsed.params}
    return summary.strip(), params


def build_run_signature(pipeline_name: str, func: Callable) -> RunSignature:
    """Models for ``POST /{pipeline_name}/run`` from ``func``'s parameters and return annotation."""
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:
        hints = {}
    signature = inspect.signature(func)
    description, param_docs = parse_docstring(func)
    fields: dict[str, Any] = {}
    file_params: list[str] = []
    for name, param in signature.parameters.items():
        if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(name, param.annotation)
        if name == HEADERS_PARAM and is_headers_annotation(annotation):
            continue  # filled from the request's headers (see ``wants_headers``), not part of the body
        if is_upload_annotation(annotation):
            file_params.append(name)
            continue
        if annotation is inspect.Parameter.empty:
            annotation = Any
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (annotation, Field(default, description=param_docs.get(name) or None))
    request_model = create_model(
        model_name(pipeline_name, "RunRequest"),
        __config__=ConfigDict(arbitrary_types_allowed=True),
        **fields,
    )
    return_annotation = hints.get("return", signature.return_annotation)
    response_model = None
    if return_annotation is not inspect.Signature.empty and not is_streaming_or_raw(return_annotation):
        response_model = functools.partial(
            create_model,
            model_name(pipeline_name, "RunResponse"),
            __config__=ConfigDict(arbitrary_types_allowed=True),
            result=(return_annotation, Field(..., description="Pipeline result")),
        )
    return RunSignature(request_model, response_model, tuple(file_params), description, param_docs)
