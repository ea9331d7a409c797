"""The ``hayhooks`` command."""

from __future__ import annotations

import typer

from hayhooks.cli.run import run
from hayhooks.process import gc_tuning
from hayhooks.version import __version__

app = typer.Typer(
    name="hayhooks",
    help="Serve Haystack pipelines as REST APIs, OpenAI-compatible endpoints and MCP tools.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hayhooks {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show Python tracebacks when a command fails."),
) -> None:
    """Serve Haystack pipelines as REST APIs, OpenAI-compatible endpoints and MCP tools."""
    if ctx.invoked_subcommand != "run":  # the console script relaxed the collector for `hayhooks run` only
        gc_tuning.restore()


app.command(help=run.__doc__)(run)


def _register_optional_commands() -> None:
    """Client, pipeline and MCP commands live in their own modules; each registers itself on ``app``."""
    import importlib

    for module in ("hayhooks.cli.client_commands", "hayhooks.cli.mcp"):
        try:
            importlib.import_module(module).register(app)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


_register_optional_commands()


hayhooks_cli = app  # the name Hayhooks 2.1.0 gives the command (``from hayhooks.cli import hayhooks_cli``)


def main() -> None:
    app()
