"""Wire format of the OpenAI-compatible API: request bodies, error bodies, model and file objects."""

from __future__ import annotations

import time
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator
from starlette.responses import JSONResponse

OWNER = "hayhooks"


class _OpenAIRequest(BaseModel):
    """Unknown fields are kept: wrappers receive the whole body."""

    model_config = ConfigDict(extra="allow")


class ChatCompletionRequest(_OpenAIRequest):
    model: str = Field(..., description="Name of the deployed pipeline.")
    messages: list[dict[str, Any]] = Field(..., description="Conversation in OpenAI's message format.")
    # Booleans are strict, as in OpenAI's API: "yes", "1" or 1 are refused rather than read as true.
    stream: StrictBool = Field(False, description="Stream `chat.completion.chunk` Server-Sent Events.")
    stream_options: dict[str, Any] | None = Field(None, description="`include_usage` adds a final usage chunk.")

    @field_validator("stream_options")
    @classmethod
    def _strict_include_usage(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        usage = None if value is None else value.get("include_usage")
        if usage is not None and not isinstance(usage, bool):
            raise ValueError("stream_options.include_usage must be a boolean (true or false)")
        return value

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.get("include_usage"))


class ResponsesRequest(_OpenAIRequest):
    model: str = Field(..., description="Name of the deployed pipeline.")
    input: str | list[dict[str, Any]] | None = Field(None, description="Text, or a list of input items.")
    instructions: str | None = None
    stream: StrictBool = Field(False, description="Stream Responses API events.")

    def input_items(self) -> list[dict[str, Any]]:
        """``input`` as a list of items: a string becomes one user message, ``None`` an empty list."""
        if self.input is None:
            return []
        if isinstance(self.input, str):
            return [{"type": "message", "role": "user", "content": self.input}]
        return self.input


class ModelObject(BaseModel):
    id: str
    object: str = "model"
    created: int
    owned_by: str = OWNER
    name: str


class ModelList(BaseModel):
    object: str = "list"
    data: list[ModelObject]


class FileObject(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    object: str = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: str | None = "processed"


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}" if prefix == "chatcmpl" else f"{prefix}_{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())


ERROR_TYPES = {400: "invalid_request_error", 404: "invalid_request_error", 422: "invalid_request_error"}


def error_body(message: str, status: int, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(message: str, status: int, code: str | None = None, param: str | None = None) -> JSONResponse:
    """An error as OpenAI clients expect it: ``{"error": {"message", "type", "param", "code"}}``."""
    return JSONResponse(error_body(message, status, code, param), status_code=status)


def validation_error_response(errors: list[dict[str, Any]]) -> JSONResponse:
    """Malformed JSON -> 400; a body that does not match the request model -> 422. The message names the field."""
    first = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    field = ".".join(location) or None
    if first.get("type") == "json_invalid":
        return error_response("Request body is not valid JSON.", 400, "invalid_json")
    message = f"Invalid request: {field or 'body'}: {first.get('msg', 'invalid value')}"
    return error_response(message, 422, "invalid_request", field)


OPENAI_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "Malformed request body"),
        (404, "Unknown model (pipeline)"),
        (422, "Request body does not match the expected shape"),
        (500, "The pipeline failed"),
        (501, "The pipeline does not implement this API"),
    )
}
