"""``HAYHOOKS_RATE_LIMIT``: at most N requests per period per caller, 429 with ``Retry-After`` past it.

The caller is the API key identity when keys are configured (the auth middleware runs first), else the
client address (as uvicorn reports it: behind a proxy, only with forwarded headers trusted). Counting is a
moving window kept in memory by the ``limits`` library, per worker process. Open routes (health, status,
metrics, docs) are never limited, so probes and scrapers cannot be locked out.
"""

from __future__ import annotations

import math
import time
from typing import Any

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from hayhooks.context import get_request_context
from hayhooks.server.middleware._respond import send_json_error
from hayhooks.server.middleware.routes import access_class, route_path


class RateLimitMiddleware:
    def __init__(self, app: Any, rate: str) -> None:
        self.app = app
        self.rate = rate
        self.items: list[RateLimitItem] = parse_many(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    @staticmethod
    def caller(scope: dict[str, Any]) -> str:
        ctx = get_request_context()
        if ctx is not None and ctx.key_id:
            return "key:" + ctx.key_id
        client = scope.get("client")
        return "addr:" + (client[0] if client else "unknown")

    def retry_after(self, item: RateLimitItem, caller: str) -> int:
        reset_time = self.limiter.get_window_stats(item, caller).reset_time
        return max(1, math.ceil(reset_time - time.time()))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or access_class(route_path(scope)) == "open":
            await self.app(scope, receive, send)
            return
        caller = self.caller(scope)
        for item in self.items:
            if not self.limiter.hit(item, caller):
                retry = str(self.retry_after(item, caller)).encode()
                detail = f"Rate limit of {self.rate} exceeded (HAYHOOKS_RATE_LIMIT); retry later."
                await send_json_error(send, 429, detail, [(b"retry-after", retry)], scope=scope)
                return
        await self.app(scope, receive, send)
