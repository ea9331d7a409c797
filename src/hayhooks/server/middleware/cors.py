"""Starlette's CORS middleware, with a short path for the requests that are not cross-origin at all.

A request without an ``Origin`` header (server-to-server calls, curl, SDKs: nearly all API traffic) only
needs ``Vary: Origin`` on its response, so caches keep cross-origin answers apart. Starlette builds header
objects for the request and for every response to decide that; this does the same with one scan of the raw
headers. Requests with an ``Origin`` header (browsers) take Starlette's own path unchanged.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware
from starlette.types import Message, Receive, Scope, Send


def _has_origin(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name == b"origin" for name, _ in headers)


def _with_vary_origin(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            merged = list(headers)
            merged[index] = (name, value + b", Origin")
            return merged
    return [*headers, (b"vary", b"Origin")]


class CORSMiddleware(StarletteCORSMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _has_origin(scope["headers"]):
            await super().__call__(scope, receive, send)
            return

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_vary_origin(list(message.get("headers", ())))
            await send(message)

        await self.app(scope, receive, send_with_vary)
