"""``X-Hayhooks-Worker`` on every HTTP response: which worker (``host:pid``) answered.

Behind a load balancer or with several workers, this is how an operator or a test tells the answers of
different workers apart (e.g. to check that all of them serve the same pipeline version).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

WORKER_HEADER = "X-Hayhooks-Worker"


class WorkerHeaderMiddleware:
    """Pure ASGI: appends one precomputed header to each response start, nothing else."""

    def __init__(self, app: ASGIApp, worker: str) -> None:
        self.app = app
        self.header = (WORKER_HEADER.lower().encode(), worker.encode("latin-1", errors="replace"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_worker(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), self.header]
            await send(message)

        await self.app(scope, receive, send_with_worker)
