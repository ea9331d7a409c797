"""The one exception the client commands raise: its message is the single line shown to the user."""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """A command failed; ``str(err)`` says what happened and what to do, in one line."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        server_detail: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.server_detail = server_detail
        self.errors = errors or []  # FastAPI-style validation errors of a 422 answer
