"""Pure ASGI middleware of the production hardening; ``hayhooks.server.hardening`` installs it."""
