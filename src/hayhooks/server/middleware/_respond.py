"""Sending a small JSON error straight from ASGI middleware (no Starlette ``Response`` object needed).

Errors on the OpenAI-compatible routes (``/v1/*``, ``/chat/completions``, ...) take OpenAI's shape,
``{"error": {"message", "type", "param", "code"}}``, so OpenAI clients raise their usual exception classes
(``AuthenticationError``, ``RateLimitError``...); every other route answers ``{"detail": ...}``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from hayhooks.server.middleware.routes import route_kind, route_path

Send = Callable[[dict[str, Any]], Awaitable[None]]

# status -> (OpenAI error type, code), as OpenAI's API answers the same conditions
_OPENAI_ERRORS: dict[int, tuple[str, str]] = {
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "insufficient_permissions"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("requests", "rate_limit_exceeded"),
}


def error_payload(status: int, detail: str, scope: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"detail": detail}``, or OpenAI's error object when ``scope`` is a request to an OpenAI route."""
    if scope is not None and route_kind(route_path(scope)) == "openai":
        kind, code = _OPENAI_ERRORS.get(status, ("invalid_request_error", None))
        return {"error": {"message": detail, "type": kind, "param": None, "code": code}}
    return {"detail": detail}


async def send_json_error(
    send: Send,
    status: int,
    detail: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
    *,
    scope: dict[str, Any] | None = None,
) -> None:
    body = json.dumps(error_payload(status, detail, scope)).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
