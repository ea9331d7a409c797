"""Small blocking HTTP helpers (one request each, always with a timeout)."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass


@dataclass
class Reply:
    status: int
    body: bytes
    seconds: float

    def json(self):
        return json.loads(self.body)


def request(port: int, method: str, path: str, payload=None, timeout: float = 30.0) -> Reply:
    """Send one request to 127.0.0.1:``port`` on a fresh connection and time it."""
    body = None
    headers = {}
    if payload is not None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return Reply(response.status, data, time.perf_counter() - started)
    except http.client.HTTPException as exc:
        # Malformed or cut-off answers count as connection problems for the callers.
        raise ConnectionError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()


def try_status(port: int, timeout: float = 1.0) -> dict | None:
    """``GET /status`` as JSON, or None while the server cannot answer it."""
    try:
        reply = request(port, "GET", "/status", timeout=timeout)
    except (OSError, http.client.HTTPException):
        return None
    if reply.status != 200:
        return None
    try:
        data = reply.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
