"""Who may change deployments through MCP on the main server when it checks API keys.

The auth middleware lets any valid key reach ``/mcp`` (running pipelines needs only an invoke key), so the
tools that deploy and undeploy check the caller's role themselves, exactly as ``/deploy_files`` and
``/undeploy/{name}`` do. The MCP SDK runs each request's handler in the context of the HTTP request that
carried it, so the request context set by the middleware is visible here.
"""

from __future__ import annotations

from hayhooks.context import get_request_context
from hayhooks.settings import Settings

ADMIN_KEY_NEEDED = (
    "Deploying and undeploying pipelines needs an admin API key (HAYHOOKS_ADMIN_API_KEYS); "
    "this key may only run pipelines."
)

# Tools that change what is deployed.
CHANGING_TOOLS = frozenset({"deploy_pipeline", "undeploy_pipeline"})


def api_keys_configured(settings: Settings) -> bool:
    try:
        from hayhooks.server.middleware.auth import KeyRing
    except ImportError:  # a build without the auth middleware
        return False
    return bool(KeyRing.from_settings(settings))


def caller_is_admin() -> bool:
    ctx = get_request_context()
    key_id = ctx.key_id if ctx is not None else None
    return bool(key_id and key_id.startswith("admin#"))
