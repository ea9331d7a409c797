"""Wire formats of the durable routes: request body parsing, validation errors, SSE frames."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request


class BodyError(Exception):
    """A request body that is not valid JSON or not what the model expects; ``errors`` as FastAPI shows them."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid body")
        self.errors = errors


async def read_json(request: Request, *, allow_empty: bool = False) -> Any:
    raw = await request.body()
    if not raw.strip():
        if allow_empty:
            return None
        raise BodyError([{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError([{"type": "json_invalid", "loc": ["body"], "msg": f"JSON decode error: {exc}"}]) from None


def validate_body(model: type[BaseModel], body: Any) -> Any:
    """The body validated by ``model``, as JSON (what the store keeps and the wrapper gets back)."""
    try:
        return model.model_validate(body).model_dump(mode="json")
    except ValidationError as exc:
        errors = [
            {"type": e["type"], "loc": ["body", *e["loc"]], "msg": e["msg"], "input": e.get("input")}
            for e in exc.errors(include_url=False, include_context=False)
        ]
        raise BodyError(json.loads(json.dumps(errors, default=str))) from None
