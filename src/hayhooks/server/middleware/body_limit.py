"""Refuse request bodies larger than ``HAYHOOKS_MAX_REQUEST_BODY_MB`` with 413, without buffering them.

A declared ``Content-Length`` over the limit is refused before a byte of the body is read; the HTTP server
guarantees a body never exceeds its declared length. A body without ``Content-Length`` (chunked) is counted
as the application reads it and reading stops with 413 as soon as the count passes the limit.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

from hayhooks.server.middleware._respond import send_json_error


class BodyTooLargeError(HTTPException):
    """Raised from ``receive()``; Starlette's exception middleware turns it into the 413 response."""

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=413, detail=detail)


class BodyLimitMiddleware:
    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        megabytes = max_bytes / (1024 * 1024)
        self.detail = f"Request body is larger than {megabytes:.4g} MB (HAYHOOKS_MAX_REQUEST_BODY_MB)."

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope["headers"])
        if declared is not None:
            if declared > self.max_bytes:
                await send_json_error(send, 413, self.detail, [(b"connection", b"close")], scope=scope)
                return
            await self.app(scope, receive, send)
            return
        await self._call_counting(scope, receive, send)

    async def _call_counting(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        received = 0
        started = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.detail)
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            if started:
                raise
            await send_json_error(send, 413, self.detail, [(b"connection", b"close")], scope=scope)


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
