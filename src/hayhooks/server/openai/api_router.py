"""OpenAI-compatible routes: models, chat completions, responses, files (each also without the ``/v1`` prefix).

Every error, including a malformed body, is answered in OpenAI's ``{"error": {...}}`` shape.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from hayhooks.server.limits import RunLimitError
from hayhooks.server.openai import serving
from hayhooks.server.openai.protocol import (
    OPENAI_ERROR_RESPONSES,
    ChatCompletion,
    ChatCompletionRequest,
    FileObject,
    ModelList,
    ModelObject,
    ResponsesRequest,
    error_code,
    error_response,
    validation_error_response,
)
from hayhooks.server.openai.protocol import Response as ResponseObject
from hayhooks.server.routing import fast_endpoint, json_body
from hayhooks.server.run.protocol import body_errors
from hayhooks.server.state import ServerState, get_state


def openai_error_response(exc: Exception) -> Response | None:
    """The OpenAI-shaped answer to an exception a route raised; ``None`` for anything unexpected."""
    if isinstance(exc, RequestValidationError):
        return validation_error_response(list(exc.errors()))
    if isinstance(exc, serving.OpenAIError):
        return exc.response()
    if isinstance(exc, RunLimitError):
        return serving.limit_error_response(exc)
    if isinstance(exc, HTTPException) and exc.status_code < 500:  # e.g. 413 while the body is read
        response = error_response(str(exc.detail), exc.status_code, error_code(exc.status_code))
        response.headers.update(exc.headers or {})
        return response
    return None


class OpenAIRoute(APIRoute):
    """Answers validation errors and ``OpenAIError``s in OpenAI's error shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                response = openai_error_response(exc)
                if response is None:
                    raise
                return response

        return handle


async def ready_state(request: Request) -> ServerState:
    state = get_state(request)
    await state.wait_ready()
    return state


router = APIRouter(tags=["openai"], route_class=OpenAIRoute, responses=OPENAI_ERROR_RESPONSES)


def _aliased(method: str, path: str, operation_id: str, *, alias_in_schema: bool = True, **kwargs: Any) -> Callable:
    """Register ``/v1<path>`` and its alias ``<path>`` for one endpoint (operation ids as Hayhooks 2.1.0's)."""

    def register(endpoint: Callable) -> Callable:
        router.add_api_route(f"/v1{path}", endpoint, methods=[method], operation_id=operation_id, **kwargs)
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            operation_id=f"{operation_id}_alias",
            include_in_schema=alias_in_schema,
            **kwargs,
        )
        return endpoint

    return register


@_aliased("GET", "/models", "openai_models", response_model=ModelList, summary="List deployed pipelines as models")
async def list_models(state: ServerState = Depends(ready_state)) -> dict[str, Any]:
    """Every deployed pipeline, as an OpenAI model whose `id` is the pipeline name."""
    return serving.list_models(state)


@_aliased(
    "GET",
    "/models/{model}",
    "openai_model",
    alias_in_schema=False,
    response_model=ModelObject,
    summary="One deployed pipeline as a model",
)
async def get_model(model: str, state: ServerState = Depends(ready_state)) -> dict[str, Any]:
    return await serving.get_model(state, model)


async def _answer(
    request: Request, model: type[BaseModel], handle: Callable[[ServerState, Any], Coroutine[Any, Any, Response]]
) -> Response:
    """Validate the JSON body as ``model`` and hand it to ``handle``; every error in OpenAI's shape."""
    state = get_state(request)
    await state.wait_ready()
    try:
        raw = await request.body()  # e.g. 413 from the body limit while it is read: in OpenAI's shape too
        if not raw:
            return validation_error_response([{"type": "missing", "loc": ("body",), "msg": "Field required"}])
        try:
            body = model.model_validate_json(raw)
        except ValidationError as exc:
            return validation_error_response(body_errors(exc))
        return await handle(state, body)
    except Exception as exc:
        response = openai_error_response(exc)
        if response is None:
            raise
        return response


# Fast endpoints (``server/routing.py``): POSTs reach them from the route table, the routes document them.
@_aliased(
    "POST",
    "/chat/completions",
    "openai_chat_completions",
    summary="Chat completion (OpenAI-compatible)",
    response_model=None,
    responses={200: {"model": ChatCompletion, "description": "The completion, or its chunks as SSE"}},
    openapi_extra=json_body(ChatCompletionRequest),
)
@fast_endpoint
async def chat_completions(request: Request) -> Response:
    """Run the pipeline named by `model` through its wrapper's `run_chat_completion(_async)`.

    With `stream: true` the answer arrives as `chat.completion.chunk` Server-Sent Events ending with `[DONE]`.
    """
    return await _answer(request, ChatCompletionRequest, serving.chat_completion)


@_aliased(
    "POST",
    "/responses",
    "openai_responses",
    summary="Create a response (OpenAI Responses API)",
    response_model=None,
    responses={200: {"model": ResponseObject, "description": "The response, or its events as SSE"}},
    openapi_extra=json_body(ResponsesRequest),
)
@fast_endpoint
async def responses(request: Request) -> Response:
    """Run the pipeline named by `model` through its wrapper's `run_response(_async)`.

    With `stream: true` the answer arrives as Responses API events (`response.created`,
    `response.output_text.delta`, ..., `response.completed`).
    """
    return await _answer(request, ResponsesRequest, _create_response)


async def _create_response(state: ServerState, body: ResponsesRequest) -> Response:
    if (body.model_extra or {}).get("background"):  # runs as a durable execution (server/durable/)
        from hayhooks.server.durable.openai_background import submit

        pipeline = await serving.find_pipeline(state, body.model, serving.RESPONSES)
        return await submit(state, pipeline, body)
    return await serving.create_response(state, body)


@_aliased(
    "POST", "/files", "openai_files_create", response_model=FileObject, summary="Upload a file (OpenAI Files API)"
)
async def upload_file(
    file: UploadFile = File(..., description="The file to upload."),
    purpose: str = Form("user_data", description="What the file is for (e.g. user_data, assistants)."),
    state: ServerState = Depends(ready_state),
) -> dict[str, Any]:
    """Handed to the first deployed pipeline implementing `run_file_upload`; otherwise only described."""
    content = await file.read()
    return await serving.upload_file(state, file.filename, file.content_type, content, purpose)
