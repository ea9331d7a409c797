"""Outermost Hayhooks middleware: one ``RequestContext`` per request, ``X-Request-ID`` in and out.

An incoming ``X-Request-ID`` (up to 128 letters, digits and ``._:-``) is kept, anything else is replaced by a
fresh id. The id is returned as a response header and tagged onto every log line written while the request
is served (``hayhooks.context.RequestIdFilter``). When the request is done, an optional recorder receives
the response status and duration (used for metrics), so one ``send`` wrapper serves both purposes.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Callable
from typing import Any

from hayhooks.context import RequestContext, enter, leave

HEADER = b"x-request-id"
_VALID_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")

Recorder = Callable[[dict[str, Any], RequestContext, int, float], None]


def incoming_request_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == HEADER:
            return value.decode("ascii") if _VALID_ID.fullmatch(value) else None
    return None


_ID_PREFIX = os.urandom(8).hex()  # random per process: ids from different workers and instances never collide
_id_counter = itertools.count(1)


def new_request_id() -> str:
    """32 hex digits: this process's random prefix and a counter (no system call per request)."""
    return f"{_ID_PREFIX}{next(_id_counter):016x}"


class RequestContextMiddleware:
    def __init__(self, app: Any, recorder: Recorder | None = None) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope["headers"]) or new_request_id()
        ctx = RequestContext(scope, request_id)
        id_header = (HEADER, request_id.encode("ascii"))
        status = 500  # if the app raises before answering, the server error middleware answers 500

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        token = enter(ctx)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            leave(token)
            if self.recorder is not None:
                self.recorder(scope, ctx, status, time.perf_counter() - started)
