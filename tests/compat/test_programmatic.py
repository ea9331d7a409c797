"""``create_app()`` extended in code, as Hayhooks' programmatic examples do: own middleware, patched OpenAPI."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient


def test_user_middleware_and_openapi_override(tmp_path: Path) -> None:
    from hayhooks import create_app
    from hayhooks.settings import Settings

    app = create_app(Settings(_env_file=None, pipelines_dir=str(tmp_path / "pipelines")))

    @app.middleware("http")
    async def require_token(request: Request, call_next):  # noqa: ANN001, ANN202
        if request.url.path != "/openapi.json" and request.headers.get("x-token") != "let-me-in":
            return JSONResponse({"detail": "no token"}, status_code=403)
        return await call_next(request)

    builtin = app.openapi

    def with_security() -> dict:
        schema = builtin()
        schema = {**schema, "components": {**schema.get("components", {}), "securitySchemes": {"Token": {}}}}
        return {**schema, "security": [{"Token": []}]}

    app.openapi = with_security  # type: ignore[method-assign]
    with TestClient(app) as client:
        assert client.get("/status").status_code == 403
        assert client.get("/status", headers={"X-Token": "let-me-in"}).status_code == 200
        document = client.get("/openapi.json").json()
    assert document["security"] == [{"Token": []}] and "Token" in document["components"]["securitySchemes"]
    assert "/status" in document["paths"]
