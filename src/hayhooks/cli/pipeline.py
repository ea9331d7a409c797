"""What ``hayhooks pipeline run`` does once its arguments are read, under Hayhooks 2.1.0's name.

``run_pipeline_with_files(pipeline_name=..., params=..., files=...)`` posts to ``/NAME/run`` (JSON, or multipart
when there are files) and prints the answer, a streamed one chunk by chunk as it arrives.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hayhooks.cli import output
from hayhooks.cli.errors import ClientError


def run_pipeline_with_files(
    *,
    pipeline_name: str,
    params: dict[str, Any],
    files: Mapping[str, Path],
    host: str | None = None,
    port: int | None = None,
    api_key: str | None = None,
) -> None:
    """Run ``pipeline_name``'s run_api on the server with ``params`` and ``files`` (name sent -> local path)."""
    from hayhooks.cli.client import HayhooksClient, resolve_address  # httpx loads only when a server is called

    client = HayhooksClient(resolve_address(host, port, api_key))
    try:
        with client.run(pipeline_name, params, list(files.items())) as response:
            output.show_run_response(response)
    except ClientError as exc:
        raise with_quoting_hint(exc, params) from exc


def with_quoting_hint(exc: ClientError, params: dict[str, Any]) -> ClientError:
    """A value that parsed as JSON (``42``) where text was expected: tell how to send it as text."""
    for error in exc.errors:
        loc = [str(p) for p in error.get("loc", []) if p != "body"]
        value = params.get(loc[0]) if loc else None
        if error.get("type") == "string_type" and loc and loc[0] in params and isinstance(value, int | float | None):
            hint = f" To send {loc[0]} as text, quote it as JSON: --param '{loc[0]}=\"{json.dumps(value)}\"'."
            return ClientError(str(exc) + hint, status_code=exc.status_code, server_detail=exc.server_detail)
    return exc


__all__ = ["run_pipeline_with_files", "with_quoting_hint"]
