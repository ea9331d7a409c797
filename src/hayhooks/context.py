"""The request being served, readable from anywhere in a wrapper: ``get_request_context()``.

The server's outermost middleware sets one ``RequestContext`` per request in a context variable. Context
variables follow the request into worker threads (``run_api`` runs on one) and into tasks it starts, so a
wrapper needs no FastAPI plumbing to see the caller's headers or which API key it used::

    from hayhooks import get_request_context

    def run_api(self, question: str) -> str:
        ctx = get_request_context()
        tenant = ctx.headers.get("x-tenant") if ctx else None
        ...

``key_id`` names the API key the caller used (``invoke#1``, ``admin#2``: its role and position in the
configuration), never the key itself. Headers are exactly what the client sent, so they do include the
``Authorization`` / ``X-API-Key`` header: do not log them wholesale.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.datastructures import Headers

__all__ = ["RequestContext", "RequestIdFilter", "current_headers", "current_request_id", "get_request_context"]


class RequestContext:
    """What a wrapper may know about the request it is serving. Headers are decoded on first access."""

    __slots__ = ("_scope", "_headers", "request_id", "key_id", "pipeline")

    def __init__(self, scope: dict[str, Any], request_id: str) -> None:
        self._scope = scope
        self._headers: Headers | None = None
        self.request_id = request_id
        self.key_id: str | None = None
        self.pipeline: str | None = None

    @property
    def headers(self) -> Headers:
        """Case-insensitive, read-only request headers (``ctx.headers["authorization"]``)."""
        if self._headers is None:
            from starlette.datastructures import Headers

            self._headers = Headers(scope=self._scope)
        return self._headers

    @property
    def method(self) -> str:
        return self._scope.get("method", "")

    @property
    def path(self) -> str:
        return self._scope.get("path", "")

    @property
    def client_host(self) -> str | None:
        client = self._scope.get("client")
        return client[0] if client else None

    def __repr__(self) -> str:
        return f"RequestContext(request_id={self.request_id!r}, path={self.path!r}, key_id={self.key_id!r})"


_current: ContextVar[RequestContext | None] = ContextVar("hayhooks_request", default=None)


def get_request_context() -> RequestContext | None:
    """The request being served, or ``None`` outside a request (e.g. in ``setup()`` or a unit test)."""
    return _current.get()


def current_headers() -> Headers | None:
    """The headers of the request being served (what a wrapper's ``headers`` parameter receives), or ``None``."""
    ctx = _current.get()
    return ctx.headers if ctx is not None else None


def current_request_id() -> str | None:
    ctx = _current.get()
    return ctx.request_id if ctx is not None else None


def enter(ctx: RequestContext) -> object:
    """Make ``ctx`` current; pass the returned token to ``leave``. Used by the server's middleware."""
    return _current.set(ctx)


def leave(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (``None`` outside a request) and ``request_tag`` (``"[id] "`` or ``""``) to every
    record passing through the handler it is attached to, so formats can show which request logged a line."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = getattr(record, "request_id", None)
        if request_id is None:
            ctx = _current.get()
            request_id = record.request_id = ctx.request_id if ctx is not None else None
        record.request_tag = f"[{request_id}] " if request_id else ""
        return True
