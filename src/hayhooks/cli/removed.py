"""Commands Hayhooks 2.x removed, answered as Hayhooks 2.1.0 answers them so existing scripts behave the same."""

from __future__ import annotations

import typer

from hayhooks.cli import output


def pipeline_deploy(ctx: typer.Context) -> None:
    """Nothing is deployed: a note names the replacements, and the exit status is 0 (as in 2.1.0)."""
    output.note(
        "`hayhooks pipeline deploy` no longer exists. Deploy a wrapper folder with "
        "`hayhooks pipeline deploy-files -n NAME DIR`, a YAML pipeline with "
        "`hayhooks pipeline deploy-yaml FILE.yml`, or either with `hayhooks deploy PATH`."
    )


def register_removed(pipeline_app: typer.Typer) -> None:
    pipeline_app.command(
        "deploy",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        help="Removed in Hayhooks 2.x: use deploy-files or deploy-yaml (or hayhooks deploy PATH).",
    )(pipeline_deploy)
