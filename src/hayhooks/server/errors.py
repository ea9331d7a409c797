"""Error responses: ``{"detail": ...}`` bodies as Hayhooks clients expect, tracebacks only when enabled."""

from __future__ import annotations

import logging
import traceback

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hayhooks.deploy.errors import DeployError

logger = logging.getLogger("hayhooks.server")


def error_detail(exc: BaseException, show_traceback: bool) -> str:
    message = str(exc) or type(exc).__name__
    if show_traceback:
        message += "\n" + "".join(traceback.format_exception(exc))
    return message


def install_error_handlers(app: FastAPI, show_tracebacks: bool) -> None:
    async def on_deploy_error(request: Request, exc: DeployError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("Unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": error_detail(exc, show_tracebacks)}, status_code=500)

    app.add_exception_handler(DeployError, on_deploy_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_unexpected)
