"""``hayhooks mcp run``: serve the pipelines dir as MCP tools (Streamable HTTP + SSE, or stdio)."""

from __future__ import annotations

import enum
from typing import Any

import typer

from hayhooks.settings import SettingsError, load_settings


class Transport(str, enum.Enum):
    http = "http"
    stdio = "stdio"


def _fail(message: str) -> typer.Exit:
    typer.secho(f"Error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(1)


def run(
    host: str = typer.Option(None, "--host", "-h", help="Bind address (HAYHOOKS_MCP_HOST, default localhost)."),
    port: int = typer.Option(None, "--port", "-p", help="Port (HAYHOOKS_MCP_PORT, default 1417)."),
    pipelines_dir: str = typer.Option(
        None, "--pipelines-dir", "-d", help="Pipelines deployed at startup (HAYHOOKS_PIPELINES_DIR)."
    ),
    additional_python_path: str = typer.Option(
        None, "--additional-python-path", help="Extra folder on sys.path for shared modules."
    ),
    transport: Transport = typer.Option(
        Transport.http,
        "--transport",
        "-t",
        case_sensitive=False,
        help="http: Streamable HTTP at /mcp and SSE at /sse. stdio: for clients that launch the server.",
    ),
    json_response: bool = typer.Option(
        False, "--json-response", "-j", help="Streamable HTTP answers each request with plain JSON instead of SSE."
    ),
    debug: bool = typer.Option(False, "--debug", help="Add Python tracebacks to tool errors (development only)."),
) -> None:
    """Serve every deployed pipeline as an MCP tool, plus tools to deploy and undeploy pipelines.

    Example: [bold]hayhooks mcp run --pipelines-dir ./pipelines[/bold]
    """
    from hayhooks.server.mcp import INSTALL_HINT, mcp_available

    if not mcp_available():
        raise _fail(INSTALL_HINT)
    overrides: dict[str, Any] = {
        "mcp_host": host,
        "mcp_port": port,
        "pipelines_dir": pipelines_dir,
        "additional_python_path": additional_python_path,
        "show_tracebacks": True if debug else None,
    }
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        raise _fail(str(exc)) from None

    if transport is Transport.stdio:
        from hayhooks.server.mcp.stdio import run_stdio

        run_stdio(settings)
    else:
        from hayhooks.server.mcp.app import serve_http

        serve_http(settings, json_response=json_response, debug=debug)


def register(app: typer.Typer) -> None:
    mcp_app = typer.Typer(
        name="mcp", help="Serve pipelines as MCP tools.", no_args_is_help=True, rich_markup_mode="rich"
    )
    mcp_app.command("run", help=run.__doc__)(run)
    app.add_typer(mcp_app, name="mcp")
