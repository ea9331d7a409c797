"""Wire format of ``POST /{name}/run``: JSON (or multipart form) in, ``{"result": ...}`` out."""

from __future__ import annotations

import json
import types
from typing import Any, Literal, Union, get_args, get_origin

import pydantic_core
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request

from hayhooks.signature import RunSignature


class RequestBodyError(Exception):
    """The body failed validation; ``errors`` are FastAPI-style error dicts."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid request body")
        self.errors = errors


def body_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """FastAPI-style error dicts for a body that failed validation: each ``loc`` starts with ``"body"``."""
    try:
        errors = json.loads(exc.json(include_url=False))
    except ValueError:  # the offending input cannot be echoed (e.g. a body that is not UTF-8): leave it out
        errors = json.loads(exc.json(include_url=False, include_input=False))
    for error in errors:
        error["loc"] = ["body", *error.get("loc", [])]
    return errors


def _model_kwargs(model: BaseModel) -> dict[str, Any]:
    # Keep nested pydantic models as models: wrappers annotate them and expect attribute access.
    return {name: getattr(model, name) for name in type(model).model_fields}


def _parse_form_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _accepts_text(annotation: Any) -> bool:
    """``str``, ``Optional[str]``, unions with ``str``, string ``Literal``s: keep such form values as sent."""
    if annotation is str:
        return True
    origin = get_origin(annotation)
    if origin is Literal:
        return any(isinstance(arg, str) for arg in get_args(annotation))
    if origin is Union or origin is types.UnionType:
        return any(_accepts_text(arg) for arg in get_args(annotation))
    return False


def _list_item_annotation(annotation: Any) -> Any | None:
    """The item type of ``list[X]`` / ``Optional[list[X]]`` (``Any`` for a bare list); ``None`` when not a list."""
    origin = get_origin(annotation)
    if annotation is list or origin in (list, set, frozenset):
        args = get_args(annotation)
        return args[0] if args else Any
    if origin is Union or origin is types.UnionType:
        for arg in get_args(annotation):
            item = _list_item_annotation(arg)
            if item is not None:
                return item
    return None


def _form_value(annotation: Any, raws: list[str]) -> Any:
    item = _list_item_annotation(annotation)
    # A list field arrives as a JSON array in one form field, or as the same field repeated (FastAPI style).
    if item is not None and (len(raws) > 1 or not raws[0].lstrip().startswith("[")):
        return [raw if _accepts_text(item) else _parse_form_value(raw) for raw in raws]
    raw = raws[-1]
    return raw if _accepts_text(annotation) else _parse_form_value(raw)


async def _read_multipart(request: Request, signature: RunSignature) -> tuple[dict[str, Any], dict[str, Any]]:
    form = await request.form()
    files: dict[str, list[UploadFile]] = {name: [] for name in signature.file_params}
    raw_values: dict[str, list[str]] = {}
    fields = signature.request_model.model_fields
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            target = key if key in files else (signature.file_params[0] if signature.file_params else None)
            if target is not None:
                files[target].append(value)
            continue
        raw_values.setdefault(key, []).append(value)
    values = {
        key: _form_value(fields[key].annotation if key in fields else None, raws) for key, raws in raw_values.items()
    }
    return values, {name: items or None for name, items in files.items()}


async def _read_body(request: Request) -> bytes:
    """The whole body, read straight from ``receive`` (the JSON path needs no ``Request`` stream machinery)."""
    chunks: list[bytes] = []
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _replaying(request: Request, body: bytes) -> Request:
    """The same request with its already-read body to read again (for the form parser)."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


async def read_run_arguments(request: Request, signature: RunSignature) -> dict[str, Any]:
    """Validate the request body against the pipeline's request model and return ``run_api`` kwargs."""
    content_type = request.headers.get("content-type", "")
    file_kwargs: dict[str, Any] = {}
    try:
        if content_type.startswith("multipart/form-data"):
            values, file_kwargs = await _read_multipart(request, signature)
            model = signature.request_model.model_validate(values)
        else:
            body = await _read_body(request)
            if content_type.startswith("application/x-www-form-urlencoded") and not body.lstrip().startswith(b"{"):
                values, file_kwargs = await _read_multipart(_replaying(request, body), signature)
                model = signature.request_model.model_validate(values)
            else:  # JSON whatever the content type says: `curl -d '{...}'` sends form-urlencoded by default
                model = signature.request_model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise RequestBodyError(body_errors(exc)) from None
    kwargs = _model_kwargs(model)
    for name in signature.file_params:
        kwargs[name] = file_kwargs.get(name)
    return kwargs


def _fallback(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return str(value)


def encode_result(result: Any) -> bytes:
    return pydantic_core.to_json({"result": result}, fallback=_fallback)
