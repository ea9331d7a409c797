"""Production hardening, as pure ASGI middleware in front of every route (REST, management, OpenAI, MCP).

Order, outermost first (CORS, added by the app afterwards, sits in front of all of them so preflight
requests and error responses carry CORS headers)::

    request context + X-Request-ID + metrics  ->  auth  ->  rate limit  ->  body limit  ->  app

A feature that is off costs nothing per request: without keys there is no auth middleware, without
``HAYHOOKS_RATE_LIMIT`` no rate limiter.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from hayhooks.addresses import is_loopback
from hayhooks.server import limits, metrics
from hayhooks.server.middleware.auth import AuthMiddleware, KeyRing
from hayhooks.server.middleware.body_limit import BodyLimitMiddleware
from hayhooks.server.middleware.request_id import RequestContextMiddleware
from hayhooks.server.state import ServerState

logger = logging.getLogger("hayhooks")

__all__ = ["install_hardening"]


def _warn_if_open(state: ServerState) -> None:
    if not is_loopback(state.settings.host):
        logger.warning(
            "No API keys configured and bound to %s: anyone who can reach this server can run pipelines%s. "
            "Set HAYHOOKS_API_KEYS_FILE / HAYHOOKS_ADMIN_API_KEYS_FILE (or the *_API_KEYS variables).",
            state.settings.host,
            " and deploy or undeploy them" if state.settings.runtime_deploy else "",
        )


def install_hardening(app: FastAPI, state: ServerState) -> None:
    """Add the middleware, ``GET /metrics`` and the 503/504 handlers; call before CORS is added."""
    settings = state.settings
    keys = KeyRing.from_settings(settings)
    app.add_middleware(BodyLimitMiddleware, max_bytes=int(settings.max_request_body_mb * 1024 * 1024))
    if settings.rate_limit:  # the `limits` library loads only when rate limiting is on
        from hayhooks.server.middleware.rate_limit import RateLimitMiddleware

        app.add_middleware(RateLimitMiddleware, rate=settings.rate_limit)
    if keys:
        app.add_middleware(AuthMiddleware, keys=keys)
        logger.debug("API key authentication on (%d key(s))", len(keys))
    else:
        _warn_if_open(state)
    app.add_middleware(RequestContextMiddleware, recorder=metrics.RequestRecorder(state.registry))
    limits.install_error_handlers(app)
    limits.prepare_gates(state.registry, settings)
    app.router.routes.insert(0, metrics.metrics_route)
    state.registry.subscribe(metrics.on_registry_event)
    state.lifespan_hooks.append(metrics.metrics_lifespan)
