"""``hayhooks run``: start the server."""

from __future__ import annotations

import os

import typer

from hayhooks.settings import SettingsError, load_settings


def _export(name: str, value: object) -> None:
    """Flags become environment variables so every worker process reads the same settings."""
    if value is not None:
        os.environ[f"HAYHOOKS_{name}"] = str(value)


def run(
    host: str = typer.Option(None, "--host", help="Bind address (HAYHOOKS_HOST, default localhost)."),
    port: int = typer.Option(None, "--port", help="Port (HAYHOOKS_PORT, default 1416)."),
    workers: int = typer.Option(None, "--workers", "-w", min=1, help="Worker processes (HAYHOOKS_WORKERS, default 1)."),
    pipelines_dir: str = typer.Option(
        None, "--pipelines-dir", help="Pipelines deployed at startup (HAYHOOKS_PIPELINES_DIR)."
    ),
    additional_python_path: str = typer.Option(
        None, "--additional-python-path", help="Extra folder on sys.path for shared modules."
    ),
    root_path: str = typer.Option(None, "--root-path", help="ASGI root path when served under a prefix."),
    reload: bool = typer.Option(False, "--reload", help="Restart when Python files change (development)."),
) -> None:
    """Start the Hayhooks server and deploy every pipeline in the pipelines dir.

    Example: [bold]hayhooks run --pipelines-dir ./examples --port 1416 --workers 2[/bold]
    """
    _export("HOST", host)
    _export("PORT", port)
    _export("WORKERS", workers)
    _export("PIPELINES_DIR", pipelines_dir)
    _export("ADDITIONAL_PYTHON_PATH", additional_python_path)
    _export("ROOT_PATH", root_path)
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.secho(f"Error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None

    if settings.serve_mcp:
        from hayhooks.server.mcp import INSTALL_HINT, mcp_available

        if not mcp_available():
            typer.secho(f"Error: HAYHOOKS_SERVE_MCP=true: {INSTALL_HINT}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1)

    from hayhooks.server.middleware.auth import KeyRing

    try:
        KeyRing.from_settings(settings)  # unreadable key files: fail before any worker starts
    except SettingsError as exc:
        typer.secho(f"Error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None

    from hayhooks import process

    process.serve(settings, reload=reload)
