"""API key authentication with two roles, checked before routing.

Keys come from ``HAYHOOKS_API_KEYS`` / ``HAYHOOKS_API_KEYS_FILE`` (invoke role: run pipelines) and
``HAYHOOKS_ADMIN_API_KEYS`` / ``HAYHOOKS_ADMIN_API_KEYS_FILE`` (admin role: also deploy and undeploy), and are
sent as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``.

- ``open`` routes (see ``routes.py``) need no key.
- missing or unknown key: 401 with ``WWW-Authenticate``; invoke key on an admin route: 403.
- only SHA-256 digests of the keys are kept; a presented key is hashed and compared with every configured
  digest using ``hmac.compare_digest`` (no early exit), so neither content nor position leaks through timing.
- a key is known to the rest of the server only by its identity, ``invoke#N`` / ``admin#N`` (role and
  1-based position in the configuration), which is what logs, metrics and wrappers see.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hayhooks.context import get_request_context
from hayhooks.server.middleware._respond import send_json_error
from hayhooks.server.middleware.routes import access_class, route_path
from hayhooks.settings import Settings, SettingsError

logger = logging.getLogger("hayhooks.auth")

Role = Literal["invoke", "admin"]

UNAUTHORIZED = "Missing or invalid API key: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'."
FORBIDDEN = "This API key may run pipelines but not deploy or undeploy them: use an admin key."


@dataclass(frozen=True)
class ApiKey:
    digest: bytes
    role: Role
    key_id: str


def _digest(secret: bytes) -> bytes:
    return hashlib.sha256(secret).digest()


def read_key_file(path: str, env_var: str) -> list[str]:
    """Keys of a key file: one per line; blank lines and ``#`` comments are skipped."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"Cannot read {env_var} ({path}): {exc.strerror or type(exc).__name__}") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _secrets(values: list[Any]) -> list[str]:
    return [str(v.get_secret_value() if hasattr(v, "get_secret_value") else v).strip() for v in values]


class KeyRing:
    """The configured keys, by digest. An admin key that is also listed as an invoke key stays admin."""

    def __init__(self, invoke: list[str], admin: list[str]) -> None:
        keys: dict[bytes, ApiKey] = {}
        for role, secrets in (("invoke", invoke), ("admin", admin)):
            for position, secret in enumerate(s for s in secrets if s):
                digest = _digest(secret.encode())
                keys[digest] = ApiKey(digest, role, f"{role}#{position + 1}")  # type: ignore[arg-type]
        self._keys = tuple(keys.values())

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        invoke = _secrets(settings.api_keys)
        admin = _secrets(settings.admin_api_keys)
        if settings.api_keys_file:
            invoke += read_key_file(settings.api_keys_file, "HAYHOOKS_API_KEYS_FILE")
        if settings.admin_api_keys_file:
            admin += read_key_file(settings.admin_api_keys_file, "HAYHOOKS_ADMIN_API_KEYS_FILE")
        return cls(invoke, admin)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def match(self, presented: bytes) -> ApiKey | None:
        digest = _digest(presented)
        found = None
        for key in self._keys:
            if hmac.compare_digest(key.digest, digest):
                found = key
        return found


def presented_keys(headers: list[tuple[bytes, bytes]]) -> list[bytes]:
    """Candidate keys in the request: the Bearer token and/or the X-API-Key value."""
    found = []
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.strip().partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                found.append(token.strip())
        elif name == b"x-api-key" and value.strip():
            found.append(value.strip())
    return found


class AuthMiddleware:
    def __init__(self, app: Any, keys: KeyRing) -> None:
        self.app = app
        self.keys = keys

    def authenticate(self, headers: list[tuple[bytes, bytes]]) -> tuple[ApiKey | None, bool]:
        """The matching key (``None`` if none) and whether any key was presented at all."""
        candidates = presented_keys(headers)
        for candidate in candidates:
            key = self.keys.match(candidate)
            if key is not None:
                return key, True
        return None, bool(candidates)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        needed = access_class(path)
        if needed == "open":
            await self.app(scope, receive, send)
            return
        key, presented = self.authenticate(scope["headers"])
        if key is None:
            await self._deny(scope, send, 401, path, invalid=presented)
            return
        if needed == "admin" and key.role != "admin":
            await self._deny(scope, send, 403, path, key_id=key.key_id)
            return
        ctx = get_request_context()
        if ctx is not None:
            ctx.key_id = key.key_id
        await self.app(scope, receive, send)

    async def _deny(
        self, scope: dict[str, Any], send: Any, status: int, path: str, *, invalid: bool = False, key_id: str = ""
    ) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            client = scope.get("client") or ("?", 0)
            reason = f"key {key_id} lacks the admin role" if key_id else ("unknown key" if invalid else "no key")
            logger.debug("Denied %s %s from %s: %s", scope.get("method", "WS"), path, client[0], reason)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if status == 401:
            challenge = b'Bearer realm="hayhooks"' + (b', error="invalid_token"' if invalid else b"")
            await send_json_error(send, 401, UNAUTHORIZED, [(b"www-authenticate", challenge)], scope=scope)
        else:
            await send_json_error(send, 403, FORBIDDEN, scope=scope)
