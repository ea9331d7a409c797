"""HTTP client the CLI uses to talk to a running Hayhooks server.

Where the server is: ``--host``/``--port`` flags, else ``HAYHOOKS_HOST``/``HAYHOOKS_PORT`` (environment or
``.env``), else ``localhost:1416``. ``HAYHOOKS_USE_HTTPS`` switches to https and ``HAYHOOKS_DISABLE_SSL``
turns TLS certificate checks off. ``--api-key`` (or ``HAYHOOKS_API_KEY``, read here and nowhere else: it is a
client secret, not a server setting) is sent as ``Authorization: Bearer``.

Every failure becomes a ``ClientError`` whose message is one line: what happened and what to do.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from hayhooks.cli.errors import ClientError
from hayhooks.settings import SettingsError, load_settings

API_KEY_ENV = "HAYHOOKS_API_KEY"
# Seconds to wait for a connection; reads wait longer (deploys run setup(), runs take what they take).
CONNECT_TIMEOUT = 10.0
STATUS_TIMEOUT = 30.0
DEPLOY_TIMEOUT = 600.0
# Bind-all addresses are where a server listens, not where a client connects.
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "localhost"}


@dataclass(frozen=True)
class ServerAddress:
    base_url: str
    verify_tls: bool = True
    api_key: str | None = None


def _host_for_url(host: str) -> str:
    host = _WILDCARD_HOSTS.get(host, host)
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


def _url_from_host(host: str, port: int | None, scheme: str) -> str:
    """``--host`` may be a bare name/IP or a full URL (``https://example.com/hayhooks``)."""
    if "://" in host:
        url = httpx.URL(host)
        if port is not None and url.port is None:
            url = url.copy_with(port=port)
        return str(url).rstrip("/")
    return f"{scheme}://{_host_for_url(host)}:{port}"


def resolve_address(host: str | None = None, port: int | None = None, api_key: str | None = None) -> ServerAddress:
    """Flags first, then ``HAYHOOKS_*`` variables (environment and ``.env``), then the defaults."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise ClientError(f"{exc}. Fix or unset that variable and retry.") from None
    scheme = "https" if settings.use_https else "http"
    chosen_host = host if host is not None else settings.host
    if "://" in chosen_host:
        base_url = _url_from_host(chosen_host, port, scheme)
    else:
        base_url = _url_from_host(chosen_host, port if port is not None else settings.port, scheme)
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None
    return ServerAddress(base_url=base_url, verify_tls=not settings.disable_ssl, api_key=key)


# --- turning failures into one line ----------------------------------------------------------------------------
def _format_validation_errors(errors: list[Any]) -> str:
    parts = []
    for error in errors:
        if not isinstance(error, dict):
            parts.append(str(error))
            continue
        loc = [str(p) for p in error.get("loc", []) if p != "body"]
        where = ".".join(loc) or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def server_detail(response: httpx.Response) -> str:
    """The server's ``detail`` as one readable string (validation error lists flattened)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:300] if text else response.reason_phrase
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):
        return _format_validation_errors(detail)
    if isinstance(detail, str):
        return detail
    return json.dumps(detail)


def _first_line(detail: str) -> str:
    lines = detail.strip().splitlines()
    if len(lines) <= 1:
        return detail.strip()
    return f"{lines[0]} (the server sent {len(lines) - 1} more lines, e.g. a traceback; see the server log)"


def _validation_errors(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return []
    return [e for e in detail if isinstance(e, dict)] if isinstance(detail, list) else []


def _hint(status: int, detail: str, address: ServerAddress) -> str:
    lowered = detail.lower()
    if status == 401 or (status == 403 and address.api_key is None and "runtime deploy" not in lowered):
        return f" Pass an API key with --api-key or {API_KEY_ENV}."
    if status == 409 and "exists" in lowered:
        return " Add --overwrite to the command to replace it."
    if status == 413:
        return " Send less data, or raise HAYHOOKS_MAX_REQUEST_BODY_MB on the server."
    if status == 429:
        return " Wait a moment and retry."
    return ""


def http_error(response: httpx.Response, headline: str, address: ServerAddress) -> ClientError:
    """``headline (STATUS): server detail. hint`` as a ``ClientError``."""
    detail = server_detail(response)
    status = response.status_code
    message = f"{headline} ({status}): {_first_line(detail)}"
    if not message.endswith((".", "!", "?", ")")):
        message += "."
    return ClientError(
        message + _hint(status, detail, address),
        status_code=status,
        server_detail=detail,
        errors=_validation_errors(response) if status == 422 else None,
    )


def _transport_error(exc: httpx.TransportError, address: ServerAddress, timeout: float | None) -> ClientError:
    url = address.base_url
    if isinstance(exc, httpx.TimeoutException):
        if isinstance(exc, httpx.ConnectTimeout):
            return ClientError(f"Timed out connecting to the Hayhooks server at {url}. Check --host/--port.")
        waited = f" within {timeout:g}s" if timeout else ""
        return ClientError(f"The Hayhooks server at {url} did not answer{waited}. Check the server log.")
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return ClientError(
            f"TLS certificate of {url} could not be verified ({text}). "
            "For a self-signed certificate set HAYHOOKS_DISABLE_SSL=true."
        )
    if "SSL" in text or "WRONG_VERSION_NUMBER" in text:
        return ClientError(f"TLS handshake with {url} failed ({text}). Is the server really serving https?")
    if isinstance(exc, httpx.RemoteProtocolError):
        return ClientError(f"The server at {url} closed the connection unexpectedly ({text}). Check the server log.")
    return ClientError(
        f"Cannot reach the Hayhooks server at {url} ({text}). Start it with `hayhooks run`, or point the CLI at it "
        "with --host/--port or HAYHOOKS_HOST/HAYHOOKS_PORT."
    )


# --- the client -------------------------------------------------------------------------------------------------
class HayhooksClient:
    """One method per management call; each returns the decoded JSON answer or raises ``ClientError``."""

    def __init__(self, address: ServerAddress) -> None:
        self.address = address

    @property
    def base_url(self) -> str:
        return self.address.base_url

    def _http(self, read_timeout: float | None) -> httpx.Client:
        headers = {"Accept": "application/json"}
        if self.address.api_key:
            headers["Authorization"] = f"Bearer {self.address.api_key}"
        timeout = httpx.Timeout(CONNECT_TIMEOUT, read=read_timeout, write=read_timeout, pool=CONNECT_TIMEOUT)
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, verify=self.address.verify_tls)

    def _json(self, response: httpx.Response, action: str) -> Any:
        if response.is_error:
            verdict = "refused" if response.status_code < 500 else "failed"
            raise http_error(response, f"{action} {verdict}", self.address)
        try:
            return response.json()
        except ValueError:
            raise ClientError(
                f"{action}: {self.base_url} answered with something that is not JSON. Is it a Hayhooks server?"
            ) from None

    def _call(self, method: str, path: str, action: str, timeout: float | None, **kwargs: Any) -> Any:
        try:
            with self._http(timeout) as http:
                response = http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise _transport_error(exc, self.address, timeout) from exc
        if response.status_code == 404 and path == "/status":
            raise ClientError(
                f"{self.base_url} has no /status route: is it a Hayhooks server? Check --host/--port "
                "(and the path, if the server runs under a root path)."
            )
        return self._json(response, action)

    def status(self) -> dict[str, Any]:
        return self._call("GET", "/status", "Status request", STATUS_TIMEOUT)

    def deploy_files(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/deploy_files", f"Deploy of '{payload['name']}'", DEPLOY_TIMEOUT, json=payload)

    def deploy_yaml(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/deploy-yaml", f"Deploy of '{payload['name']}'", DEPLOY_TIMEOUT, json=payload)

    def undeploy(self, name: str) -> dict[str, Any]:
        try:
            return self._call("POST", f"/undeploy/{name}", f"Undeploy of '{name}'", DEPLOY_TIMEOUT)
        except ClientError as exc:
            if exc.status_code == 404:
                raise ClientError(
                    f"Pipeline '{name}' is not deployed on {self.base_url}. Run `hayhooks status` to list pipelines.",
                    status_code=404,
                ) from None
            raise

    @contextmanager
    def run(
        self, name: str, params: dict[str, Any], files: list[tuple[str, Path]] | None = None
    ) -> Iterator[httpx.Response]:
        """POST /NAME/run and yield the (possibly streaming) response once its status is known to be OK.

        Without files the params go as JSON; with files everything goes as multipart, files under ``files``.
        """
        with self._http(None) as http, _opened(files or []) as uploads:
            kwargs: dict[str, Any]
            if uploads:
                kwargs = {"data": form_fields(params), "files": uploads}
            else:
                kwargs = {"json": params}
            try:
                with http.stream("POST", f"/{name}/run", **kwargs) as response:
                    if response.is_error:
                        response.read()
                        raise self._run_error(name, response)
                    yield response
            except httpx.TransportError as exc:
                raise _transport_error(exc, self.address, None) from exc

    def _run_error(self, name: str, response: httpx.Response) -> ClientError:
        if response.status_code == 404:
            detail = server_detail(response)
            what = f"Pipeline '{name}' not found on {self.base_url}."
            if "not found" not in detail.lower():
                what = f"Cannot run '{name}' on {self.base_url}: {_first_line(detail)}"
            return ClientError(
                f"{what} Run `hayhooks status` to list deployed pipelines.", status_code=404, server_detail=detail
            )
        if response.status_code == 422:
            return http_error(response, f"Pipeline '{name}' rejected the input", self.address)
        return http_error(response, f"Run of '{name}' failed", self.address)


def form_fields(params: dict[str, Any]) -> dict[str, str]:
    """Multipart form values: strings as they are, everything else as JSON (the server decodes it)."""
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in params.items()}


@contextmanager
def _opened(files: list[tuple[str, Path]]) -> Iterator[list[tuple[str, tuple[str, Any]]]]:
    handles = []
    try:
        for upload_name, path in files:
            handles.append(("files", (upload_name, path.open("rb"))))
        yield handles
    finally:
        for _, (_, handle) in handles:
            handle.close()
