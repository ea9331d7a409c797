"""Wire format of the OpenAI-compatible API: request bodies, error bodies, model and file objects."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator
from starlette.responses import JSONResponse

OWNER = "hayhooks"


class _OpenAIRequest(BaseModel):
    """Unknown fields are kept: wrappers receive the whole body."""

    model_config = ConfigDict(extra="allow")


class ChatRequest(_OpenAIRequest):
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


class ResponseRequest(_OpenAIRequest):
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


class ModelsResponse(BaseModel):
    object: str = "list"
    data: list[ModelObject]


# Schema names as Hayhooks 2.1.0 publishes them in /openapi.json; the longer names stay for our own code.
ChatCompletionRequest = ChatRequest
ResponsesRequest = ResponseRequest
ModelList = ModelsResponse


class FileObject(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    object: str = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: str | None = "processed"


# --- answers, for the API description (the routes build them as plain dicts) ---------------------------------
class Message(BaseModel):
    role: str = "assistant"
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    refusal: str | None = None


class Choice(BaseModel):
    index: int = 0
    message: Message | None = Field(None, description="The answer (non-streamed).")
    delta: Message | None = Field(None, description="The next piece of the answer (streamed chunks).")
    finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None


class ChatCompletion(BaseModel):
    """`chat.completion`, or with `stream: true` each `chat.completion.chunk` event."""

    id: str
    object: Literal["chat.completion", "chat.completion.chunk"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: dict[str, Any] | None = None
    system_fingerprint: str | None = None


class Response(BaseModel):
    """A Responses API `response` (with `stream: true`, events carry it in `response.completed`)."""

    id: str
    object: str = "response"
    created_at: int
    status: str = "completed"
    model: str
    output: list[dict[str, Any]]
    usage: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    incomplete_details: dict[str, Any] | None = None


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


_DASHED_IDS = frozenset({"chatcmpl", "file"})  # OpenAI's own ids: chatcmpl-..., file-...; resp_..., msg_...


def new_id(prefix: str) -> str:
    separator = "-" if prefix in _DASHED_IDS else "_"
    return f"{prefix}{separator}{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())


ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "requests",
}
_ERROR_CODES = {401: "invalid_api_key", 413: "request_too_large", 429: "rate_limit_exceeded"}


def error_code(status: int) -> str | None:
    """OpenAI's ``code`` for an HTTP status the server itself decides (not a pipeline's own error)."""
    return _ERROR_CODES.get(status)


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
