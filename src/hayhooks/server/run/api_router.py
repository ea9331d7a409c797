"""``POST /{name}/run``: one route for every deployed pipeline, dispatched through the registry.

A fast endpoint (``server/routing.py``): POSTs reach it from the route table; its route answers other methods and
``url_for``. Each pipeline's path is documented by ``server/openapi.py``.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hayhooks.server.errors import error_detail
from hayhooks.server.limits import RunLimitError
from hayhooks.server.routing import RUN_PATH, fast_endpoint
from hayhooks.server.run.protocol import RequestBodyError, read_run_arguments
from hayhooks.server.run.serving import build_response, call_run_api
from hayhooks.server.state import get_state

logger = logging.getLogger("hayhooks.run")


@fast_endpoint
async def run_pipeline(request: Request) -> Response:
    state = get_state(request)
    await state.wait_ready()
    name = request.path_params["name"]
    pipeline = await state.lookup(name)
    if pipeline is None or pipeline.run_signature is None:
        detail = f"Pipeline '{name}' not found" if pipeline is None else f"Pipeline '{name}' has no run_api."
        return JSONResponse({"detail": detail}, status_code=404)
    try:
        kwargs = await read_run_arguments(request, pipeline.run_signature)
    except RequestBodyError as exc:
        return JSONResponse({"detail": exc.errors}, status_code=422)
    try:
        result = await call_run_api(pipeline, kwargs, state.settings)
    except RunLimitError as exc:
        return exc.response()
    except Exception as exc:
        logger.exception("Pipeline execution error: pipeline '%s' failed: %s", name, exc)
        detail = f"Pipeline '{name}' failed: {error_detail(exc, state.settings.show_tracebacks)}"
        return JSONResponse({"detail": detail}, status_code=500)
    return build_response(result, pipeline, state.settings)


routes = [Route(RUN_PATH, run_pipeline, methods=["POST"], include_in_schema=False)]
