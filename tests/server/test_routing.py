"""The route table: fast endpoints answer POSTs exactly as their documented routes would, inside every middleware."""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import COMPONENTS_PATH, write_wrapper
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from hayhooks.server.app import create_app
from hayhooks.settings import Settings

ECHO = textwrap.dedent(
    """
    from haystack import Pipeline
    from test_components import Sleep
    from hayhooks import BasePipelineWrapper


    class PipelineWrapper(BasePipelineWrapper):
        def setup(self) -> None:
            self.pipeline = Pipeline()
            self.pipeline.add_component("sleep", Sleep())

        def run_api(self, text: str) -> str:
            return self.pipeline.run({"sleep": {"text": text}})["sleep"]["text"]

        def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> str:
            return self.pipeline.run({"sleep": {"text": messages[-1]["content"]}})["sleep"]["text"]
    """
)


class SeenPaths:
    """A user's middleware: records the method and path of every HTTP request it sees."""

    def __init__(self, app: ASGIApp, seen: list[str]) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


def test_fast_endpoints_pass_user_middleware_and_answer_like_their_routes(tmp_path: Path, monkeypatch) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "echo", ECHO)
    monkeypatch.syspath_prepend(COMPONENTS_PATH)
    app = create_app(Settings(_env_file=None, pipelines_dir=str(pipelines), watch_pipelines_dir=False))
    seen: list[str] = []
    app.add_middleware(SeenPaths, seen=seen)
    with TestClient(app) as client:
        assert client.post("/echo/run", json={"text": "hi"}).json() == {"result": "hi"}
        chat = client.post(
            "/v1/chat/completions", json={"model": "echo", "messages": [{"role": "user", "content": "yo"}]}
        )
        assert chat.status_code == 200 and chat.json()["choices"][0]["message"]["content"] == "yo"
        assert client.post("/chat/completions", json={"model": "echo"}).status_code == 422  # messages missing
        assert client.post("/echo/run", json={}).status_code == 422
        assert client.get("/echo/run").status_code == 405  # other methods: the routes answer
        assert client.get("/v1/chat/completions").status_code == 405
        assert client.post("/nothing/run", json={}).status_code == 404
        document = client.get("/openapi.json").json()
    assert seen[:3] == ["POST /echo/run", "POST /v1/chat/completions", "POST /chat/completions"]
    body = document["paths"]["/v1/chat/completions"]["post"]["requestBody"]
    assert body["required"] is True
    ref = body["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/ChatRequest"  # the request model's name in Hayhooks 2.1.0's document
    assert set(document["components"]["schemas"]["ChatRequest"]["required"]) >= {"model", "messages"}
    assert "requestBody" in document["paths"]["/v1/responses"]["post"]
