"""Commands that manage a running server: ``status``, ``pipeline deploy-files|deploy-yaml|undeploy|run`` and the
older top-level ``deploy`` / ``undeploy``.

Every failure prints one ``Error: ...`` line to stderr and exits 1 (130 on Ctrl+C); ``hayhooks --debug ...``
adds the Python traceback.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hayhooks.cli import output
from hayhooks.cli.errors import ClientError
from hayhooks.cli.inputs import collect_uploads, is_yaml_file, parse_params, read_pipeline_folder

if TYPE_CHECKING:  # httpx loads only when a command talks to a server, not for `hayhooks run` or --help
    from hayhooks.cli.client import HayhooksClient

API_KEY_ENV = "HAYHOOKS_API_KEY"

_SERVER_PANEL = "Server address"

HostOption = Annotated[
    str | None,
    typer.Option(
        "--host",
        help="Server host, or a full URL like https://example.com/hayhooks (else HAYHOOKS_HOST, else localhost).",
        rich_help_panel=_SERVER_PANEL,
        show_default=False,
    ),
]
PortOption = Annotated[
    int | None,
    typer.Option(
        "--port",
        min=1,
        max=65535,
        help="Server port (else HAYHOOKS_PORT, else 1416).",
        rich_help_panel=_SERVER_PANEL,
        show_default=False,
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help=f"API key sent as 'Authorization: Bearer' (else {API_KEY_ENV}).",
        rich_help_panel=_SERVER_PANEL,
        show_default=False,
    ),
]
NameOption = Annotated[
    str | None,
    typer.Option("--name", "-n", help="Pipeline name (default: the folder or file name).", show_default=False),
]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", "-o", help="Replace a pipeline of the same name.")]
DescriptionOption = Annotated[
    str | None, typer.Option("--description", help="Description shown in the API docs and MCP tool list.")
]
SkipMcpOption = Annotated[bool, typer.Option("--skip-mcp", help="Do not list this pipeline as an MCP tool.")]

pipeline_app = typer.Typer(
    name="pipeline",
    help="Deploy, undeploy and run pipelines on a running server.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


# --- plumbing ------------------------------------------------------------------------------------------------------
def _debug(ctx: typer.Context) -> bool:
    return bool(ctx.find_root().params.get("debug"))


@contextmanager
def _reported(ctx: typer.Context) -> Iterator[None]:
    """Turn every failure into one ``Error:`` line and a non-zero exit; tracebacks only with ``--debug``."""
    try:
        yield
    except (typer.Exit, typer.Abort, typer.TyperException):
        raise
    except ClientError as exc:
        if _debug(ctx):
            traceback.print_exc()
        output.error(str(exc))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        output.error("Interrupted.")
        raise typer.Exit(130) from None
    except OSError as exc:  # a local file or folder the command was given cannot be read
        if _debug(ctx):
            raise
        where = f" {exc.filename}" if exc.filename else ""
        output.error(f"Cannot read{where}: {exc.strerror or exc}. Check the path and its permissions.")
        raise typer.Exit(1) from None
    except Exception as exc:
        if _debug(ctx):
            raise
        output.error(f"Unexpected {type(exc).__name__}: {exc}. Re-run as `hayhooks --debug ...` for the traceback.")
        raise typer.Exit(1) from None


def _client(host: str | None, port: int | None, api_key: str | None) -> HayhooksClient:
    from hayhooks.cli.client import HayhooksClient, resolve_address

    return HayhooksClient(resolve_address(host, port, api_key))


def _deployed(client: HayhooksClient, answer: dict[str, Any], fallback_name: str) -> None:
    name = answer.get("name", fallback_name)
    endpoint = answer.get("endpoint") or f"/{name}/run"
    output.success(f"Pipeline '{name}' deployed: POST {client.base_url}{endpoint}")


def _deploy_folder(
    client: HayhooksClient,
    folder: Path,
    name: str | None,
    *,
    overwrite: bool,
    save_files: bool = True,
    skip_mcp: bool = False,
    description: str | None = None,
) -> None:
    content = read_pipeline_folder(folder)
    for skipped in content.skipped_binary:
        output.note(f"skipped binary file {skipped} (only text files are sent; load binaries from a path instead).")
    name = name or folder.resolve().name
    payload: dict[str, Any] = {
        "name": name,
        "files": content.files,
        "overwrite": overwrite,
        "save_files": save_files,
        "skip_mcp": skip_mcp,
    }
    if description is not None:
        payload["description"] = description
    _deployed(client, client.deploy_files(payload), name)


def _deploy_yaml_file(
    client: HayhooksClient,
    path: Path,
    name: str | None,
    *,
    overwrite: bool,
    save_file: bool = True,
    skip_mcp: bool = False,
    description: str | None = None,
) -> None:
    if not path.is_file():
        raise ClientError(f"YAML file {path} does not exist.")
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ClientError(f"{path} is not UTF-8 text; a YAML pipeline must be.") from None
    name = name or path.stem
    payload: dict[str, Any] = {
        "name": name,
        "source_code": source,
        "overwrite": overwrite,
        "save_file": save_file,
        "skip_mcp": skip_mcp,
    }
    if description is not None:
        payload["description"] = description
    _deployed(client, client.deploy_yaml(payload), name)


def _undeploy(ctx: typer.Context, host: str | None, port: int | None, api_key: str | None, name: str) -> None:
    with _reported(ctx):
        _client(host, port, api_key).undeploy(name)
        output.success(f"Pipeline '{name}' successfully undeployed.")


# --- top-level commands -------------------------------------------------------------------------------------------
def status(ctx: typer.Context, host: HostOption = None, port: PortOption = None, api_key: ApiKeyOption = None) -> None:
    """Show whether the server is up and which pipelines it serves.

    Example: [bold]hayhooks status --host 127.0.0.1 --port 1416[/bold]
    """
    with _reported(ctx):
        client = _client(host, port, api_key)
        output.show_status(client.base_url, client.status())


def deploy(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A pipeline folder (with pipeline_wrapper.py) or a YAML file.")],
    name: NameOption = None,
    overwrite: OverwriteOption = False,
    host: HostOption = None,
    port: PortOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Deploy a pipeline folder or a YAML file (shortcut for [bold]pipeline deploy-files/deploy-yaml[/bold]).

    Example: [bold]hayhooks deploy ./pipelines/assistant -n assistant --overwrite[/bold]
    """
    with _reported(ctx):
        client = _client(host, port, api_key)
        if path.is_dir():
            _deploy_folder(client, path, name, overwrite=overwrite)
        elif path.is_file() and is_yaml_file(path):
            _deploy_yaml_file(client, path, name, overwrite=overwrite)
        elif path.exists():
            raise ClientError(f"{path} is neither a folder nor a .yml/.yaml file; pass a pipeline folder or YAML.")
        else:
            raise ClientError(f"{path} does not exist; pass a pipeline folder or a YAML pipeline file.")


def undeploy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the pipeline to remove.")],
    host: HostOption = None,
    port: PortOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Remove a deployed pipeline (same as [bold]hayhooks pipeline undeploy[/bold]).

    Example: [bold]hayhooks undeploy chat[/bold]
    """
    _undeploy(ctx, host, port, api_key, name)


# --- pipeline sub-commands -----------------------------------------------------------------------------------------
@pipeline_app.command("deploy-files")
def deploy_files(
    ctx: typer.Context,
    pipeline_dir: Annotated[Path, typer.Argument(help="Folder holding pipeline_wrapper.py and the files it uses.")],
    name: NameOption = None,
    description: DescriptionOption = None,
    overwrite: OverwriteOption = False,
    skip_saving_files: Annotated[
        bool, typer.Option("--skip-saving-files", "-s", help="Do not save the files in the server's pipelines dir.")
    ] = False,
    skip_mcp: SkipMcpOption = False,
    host: HostOption = None,
    port: PortOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Deploy a pipeline wrapper folder (its text files are sent; caches and binaries are skipped).

    Example: [bold]hayhooks pipeline deploy-files -n assistant ./pipelines/assistant --overwrite[/bold]
    """
    with _reported(ctx):
        _deploy_folder(
            _client(host, port, api_key),
            pipeline_dir,
            name,
            overwrite=overwrite,
            save_files=not skip_saving_files,
            skip_mcp=skip_mcp,
            description=description,
        )


@pipeline_app.command("deploy-yaml")
def deploy_yaml(
    ctx: typer.Context,
    pipeline_file: Annotated[Path, typer.Argument(help="Haystack pipeline YAML with inputs and outputs.")],
    name: NameOption = None,
    description: DescriptionOption = None,
    overwrite: OverwriteOption = False,
    save_file: Annotated[
        bool, typer.Option("--save-file/--no-save-file", help="Save the YAML in the server's pipelines dir.")
    ] = True,
    skip_mcp: SkipMcpOption = False,
    host: HostOption = None,
    port: PortOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Deploy a YAML pipeline; its name defaults to the file name without extension.

    Example: [bold]hayhooks pipeline deploy-yaml examples/greeting.yml --description "Says hello"[/bold]
    """
    with _reported(ctx):
        _deploy_yaml_file(
            _client(host, port, api_key),
            pipeline_file,
            name,
            overwrite=overwrite,
            save_file=save_file,
            skip_mcp=skip_mcp,
            description=description,
        )


@pipeline_app.command("undeploy")
def pipeline_undeploy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the pipeline to remove.")],
    host: HostOption = None,
    port: PortOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Remove a deployed pipeline (and the files a deploy request saved for it).

    Example: [bold]hayhooks pipeline undeploy chat[/bold]
    """
    _undeploy(ctx, host, port, api_key, name)


@pipeline_app.command("run")
def run_pipeline(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the pipeline to run.")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="key=value; the value is parsed as JSON when it is JSON, else text."),
    ] = None,
    file: Annotated[list[Path] | None, typer.Option("--file", "-f", help="File to upload (repeatable).")] = None,
    directory: Annotated[
        list[Path] | None, typer.Option("--dir", "-d", help="Upload every file under this folder (repeatable).")
    ] = None,
    stream: Annotated[bool, typer.Option("--stream", "-s", help="Kept for 2.1.0: streams print live.")] = False,
    host: HostOption = None,
    port: PortOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Run a pipeline's run_api and print the result (a streamed answer is printed chunk by chunk as it arrives).

    Parameters go as JSON; with --file/--dir as a multipart form, files under run_api's [bold]files[/bold].

    Example: [bold]hayhooks pipeline run docs_search -p 'query=startup workers' -p top_k=2[/bold]
    """
    with _reported(ctx):
        params = parse_params(param or [])
        uploads: dict[str, Path] = {}
        for sent_as, path in collect_uploads(file or [], directory or []):
            if sent_as in uploads:
                raise ClientError(f"Two files would be sent as {sent_as!r} ({uploads[sent_as]} and {path}).")
            uploads[sent_as] = path
        from hayhooks.cli import pipeline

        pipeline.run_pipeline_with_files(
            pipeline_name=name, params=params, files=uploads, host=host, port=port, api_key=api_key
        )


def register(app: typer.Typer) -> None:
    """Add the client commands to the ``hayhooks`` command."""
    from hayhooks.cli.removed import register_removed

    register_removed(pipeline_app)
    app.command("status")(status)
    app.command("deploy")(deploy)
    app.command("undeploy")(undeploy)
    app.add_typer(pipeline_app, name="pipeline")
