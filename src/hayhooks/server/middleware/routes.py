"""Which kind of route a request path is, decided from the path alone (before routing).

Access classes, used by authentication and rate limiting:

- ``open``: probes and read-only descriptions of the server (``/health/*``, ``/status``, ``/status/{name}``,
  ``/metrics``, ``/docs``, ``/redoc``, ``/openapi.json``). No key, no rate limit.
- ``admin``: everything that changes what is deployed (``/deploy_files``, ``/deploy-yaml``, ``/deploy``,
  ``/undeploy/{name}``). Admin key only.
- ``invoke``: everything else, including paths that do not exist, so an anonymous caller cannot even probe
  which routes there are (``/{name}/run``, ``/v1/*``, ``/chat/completions``, ``/mcp``, ``/sse``...).

Route kinds label metrics: health, metrics, status, docs, admin, run, openai, mcp, other.
"""

from __future__ import annotations

from typing import Any, Literal

AccessClass = Literal["open", "admin", "invoke"]

OPEN_PATHS = frozenset({"/status", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
OPEN_PREFIXES = ("/health/", "/status/")
ADMIN_PATHS = frozenset({"/deploy_files", "/deploy-yaml", "/deploy"})
ADMIN_PREFIXES = ("/undeploy/",)

_OPENAI_PATHS = frozenset({"/chat/completions", "/models", "/responses", "/files"})
_MCP_ROOTS = frozenset({"mcp", "sse", "messages"})
_FIXED_KINDS = {
    "/metrics": "metrics",
    "/status": "status",
    "/docs": "docs",
    "/docs/oauth2-redirect": "docs",
    "/redoc": "docs",
    "/openapi.json": "docs",
}


def route_path(scope: dict[str, Any]) -> str:
    """The path the router matches (``root_path`` removed), without a trailing slash."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path) and path[len(root_path) : len(root_path) + 1] in ("/", ""):
        path = path[len(root_path) :]
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path or "/"


def access_class(path: str) -> AccessClass:
    if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        return "open"
    if path in ADMIN_PATHS or path.startswith(ADMIN_PREFIXES):
        return "admin"
    return "invoke"


def run_route_pipeline(path: str) -> str | None:
    """``NAME`` for ``/NAME/run``, else ``None``."""
    if path.endswith("/run") and path.count("/") == 2 and len(path) > 5:
        return path[1:-4]
    return None


def route_kind(path: str) -> str:
    kind = _FIXED_KINDS.get(path)
    if kind is not None:
        return kind
    if path.startswith("/health/"):
        return "health"
    if path.startswith("/status/"):
        return "status"
    if path in ADMIN_PATHS or path.startswith(ADMIN_PREFIXES):
        return "admin"
    if path.startswith("/v1/") or path in _OPENAI_PATHS:
        return "openai"
    if path[1:].partition("/")[0] in _MCP_ROOTS:
        return "mcp"
    if run_route_pipeline(path) is not None:
        return "run"
    return "other"
