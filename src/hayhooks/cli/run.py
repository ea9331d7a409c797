"""``hayhooks run``: start the server."""

from __future__ import annotations

import os

import typer

from hayhooks.settings import SettingsError, get_settings, load_settings

_LATER_PANEL = "Accepted for Hayhooks 2.1.0 command lines (features not built yet)"


def _export(name: str, value: object) -> None:
    """Flags become environment variables so every worker process reads the same settings."""
    if value is not None:
        os.environ[f"HAYHOOKS_{name}"] = str(value)


def _export_flag(field: str, value: bool | None) -> None:
    """A ``--with/--without`` flag: exported for the workers, and set on the process-wide settings object too
    (as Hayhooks 2.1.0's CLI does), so code in this process reads the same value."""
    if value is None:
        return
    os.environ[f"HAYHOOKS_{field.upper()}"] = "true" if value else "false"
    setattr(get_settings(), field, value)


def _not_built_yet(flags: dict[str, object]) -> None:
    """One line per 2.1.0 flag whose feature this server does not have yet: the server still starts."""
    for flag, value in flags.items():
        if value:
            typer.secho(
                f"Note: {flag} is accepted for compatibility with Hayhooks 2.1.0 but has no effect yet: "
                "this server does not have that feature. Starting without it.",
                fg=typer.colors.YELLOW,
                err=True,
            )


def run(
    host: str = typer.Option(None, "--host", "-h", help="Bind address (HAYHOOKS_HOST, default localhost)."),
    port: int = typer.Option(None, "--port", "-p", help="Port (HAYHOOKS_PORT, default 1416)."),
    pipelines_dir: str = typer.Option(
        None, "--pipelines-dir", "-d", help="Pipelines deployed at startup (HAYHOOKS_PIPELINES_DIR)."
    ),
    root_path: str = typer.Option(None, "--root-path", help="ASGI root path when served under a prefix."),
    additional_python_path: str = typer.Option(
        None, "--additional-python-path", help="Extra folder on sys.path for shared modules."
    ),
    workers: int = typer.Option(None, "--workers", "-w", min=1, help="Worker processes (HAYHOOKS_WORKERS, default 1)."),
    reload: bool = typer.Option(False, "--reload", "-r", help="Restart when Python files change (development)."),
    with_chainlit: bool = typer.Option(
        False, "--with-chainlit", help="Embedded Chainlit UI (not built yet).", rich_help_panel=_LATER_PANEL
    ),
    with_monitoring: bool = typer.Option(
        None,
        "--with-monitoring/--without-monitoring",
        help="Durable execution enumeration (not built yet).",
        rich_help_panel=_LATER_PANEL,
        show_default=False,
    ),
    with_tracing: bool = typer.Option(
        None,
        "--with-tracing/--without-tracing",
        help="Local trace capture API (not built yet).",
        rich_help_panel=_LATER_PANEL,
        show_default=False,
    ),
    chainlit_path: str = typer.Option(
        None, "--chainlit-path", help="URL path of the Chainlit UI (not built yet).", rich_help_panel=_LATER_PANEL
    ),
    chainlit_custom_elements_dir: str = typer.Option(
        None,
        "--chainlit-custom-elements-dir",
        help="Custom .jsx elements for the Chainlit UI (not built yet).",
        rich_help_panel=_LATER_PANEL,
    ),
) -> None:
    """Start the Hayhooks server and deploy every pipeline in the pipelines dir.

    Example: [bold]hayhooks run -d ./examples -p 1416 -w 2[/bold]
    """
    _not_built_yet(
        {
            "--with-chainlit": with_chainlit,
            "--chainlit-path": chainlit_path,
            "--chainlit-custom-elements-dir": chainlit_custom_elements_dir,
            "--with-monitoring": with_monitoring is True,
            "--without-monitoring": with_monitoring is False,
            "--with-tracing": with_tracing is True,
            "--without-tracing": with_tracing is False,
        }
    )
    _export_flag("tracing_enabled", with_tracing)
    _export_flag("monitoring_enabled", with_monitoring)
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
