"""The floor: uvicorn + Starlette and nothing above them.

It answers the run route with the same JSON as the no-op wrapper pipeline
(``{"result": "ok"}`` after reading and parsing the JSON body), ``GET /status`` like Hayhooks,
and streaming chat completions with the same number of OpenAI-style chunks as the
streaming wrapper, so it gives a lower bound for the cost of those paths.

    python bench/floor_app.py --host 127.0.0.1 --port 8000 [--workers N]
"""

from __future__ import annotations

import argparse
import json
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

STREAM_CHUNKS = 200
RUN_ANSWER = b'{"result":"ok"}'


async def status(request: Request) -> Response:
    return JSONResponse({"status": "Up!", "pipelines": []})


async def run_pipeline(request: Request) -> Response:
    body = await request.body()
    if body:
        json.loads(body)
    return Response(RUN_ANSWER, media_type="application/json")


def _chunk(completion_id: str, model: str, created: int, content: str, finish: str | None) -> str:
    payload = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": finish}],
    }
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"


async def chat_completions(request: Request) -> Response:
    payload = json.loads(await request.body())
    model = payload.get("model", "floor")
    created = int(time.time())
    completion_id = f"{model}-{time.monotonic_ns()}"
    if not payload.get("stream"):
        text = "".join(f"tok{index} " for index in range(STREAM_CHUNKS))
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            }
        )

    async def events():
        for index in range(STREAM_CHUNKS):
            yield _chunk(completion_id, model, created, f"tok{index} ", None)
        yield _chunk(completion_id, model, created, "", "stop")

    return StreamingResponse(events(), media_type="text/event-stream")


app = Starlette(
    routes=[
        Route("/status", status, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/{name}/run", run_pipeline, methods=["POST"]),
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.workers > 1:
        uvicorn.run("floor_app:app", host=args.host, port=args.port, workers=args.workers, log_level="warning")
    else:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
