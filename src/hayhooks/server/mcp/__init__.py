"""MCP server: deployed pipelines as tools, plus core tools that manage deployments.

Everything here needs the optional ``mcp`` package (``pip install "hayhooks[mcp]"``); import the submodules
only when MCP is actually served. Layout:

- ``schemas``: tool input schemas and the argument models of the core tools (no ``mcp`` import).
- ``tools``: the tool list, built from the registry on every request.
- ``results``: Python values and errors -> ``CallToolResult``.
- ``serving``: what calling a tool does.
- ``notifier``: tells connected clients the tool list changed after a deploy or undeploy.
- ``server``: the low-level MCP ``Server`` wired to the above.
- ``transport``: Streamable HTTP (``/mcp``) and SSE (``/sse``) routes and their lifespan.
- ``app`` / ``stdio``: the ``hayhooks mcp run`` servers; ``mount``: MCP on the main server.
"""

INSTALL_HINT = 'MCP support needs the optional "mcp" package: pip install "hayhooks[mcp]"'


def mcp_available() -> bool:
    """Whether the ``mcp`` package imports (it is an optional extra)."""
    try:
        import mcp  # noqa: F401
    except ImportError:
        return False
    return True
