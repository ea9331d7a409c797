"""What the CLI prints: rich tables and colours on a terminal, plain text when piped.

Results go to stdout (so ``hayhooks pipeline run ... | jq`` works); errors and notes go to stderr, one line each.
Rich loads on first output, so ``hayhooks run`` (which prints through logging) never imports it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from hayhooks.cli.errors import ClientError

if TYPE_CHECKING:
    import httpx
    from rich.console import Console
    from rich.table import Table

# Width used when output is not a terminal, so tables and long lines are not folded at 80 columns.
PIPED_WIDTH = 200


def console(stderr: bool = False) -> Console:
    """A console bound to the current stdout/stderr (looked up per call, so redirections are honoured)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    is_tty = hasattr(stream, "isatty") and stream.isatty()
    width = None if is_tty or os.environ.get("COLUMNS") else PIPED_WIDTH
    return Console(file=stream, highlight=False, emoji=False, width=width)


def error(message: str) -> None:
    from rich.text import Text

    console(stderr=True).print(Text.assemble(("Error: ", "bold red"), message), soft_wrap=True)


def note(message: str) -> None:
    from rich.text import Text

    console(stderr=True).print(Text.assemble(("Note: ", "yellow"), message), soft_wrap=True)


def success(message: str) -> None:
    from rich.text import Text

    console().print(Text(message, style="green"), soft_wrap=True)


def info(message: str) -> None:
    from rich.text import Text

    console().print(Text(message), soft_wrap=True)


# --- status ------------------------------------------------------------------------------------------------------
def _details_by_name(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d.get("name"): d for d in status.get("details") or [] if isinstance(d, dict)}


def status_table(status: dict[str, Any]) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.ROUNDED, header_style="bold cyan", title="Deployed pipelines", title_justify="left")
    for column in ("Pipeline", "Kind", "Endpoint", "Version", "Description"):
        table.add_column(column, overflow="fold")
    details = _details_by_name(status)
    for name in status.get("pipelines") or []:
        detail = details.get(name, {})
        endpoint = detail.get("endpoint") or "-"
        description = (detail.get("description") or "").strip().splitlines()
        table.add_row(
            Text(name, style="bold"),
            str(detail.get("kind", "")),
            endpoint,
            str(detail.get("version", ""))[:12],
            description[0] if description else "",
        )
    return table


def errors_table(errors: dict[str, str]) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(box=box.ROUNDED, header_style="bold red", title="Failed to load", title_justify="left")
    table.add_column("Pipeline")
    table.add_column("Reason", overflow="fold")
    for name, reason in errors.items():
        table.add_row(name, reason.strip().splitlines()[0] if reason.strip() else "")
    return table


def show_status(base_url: str, status: dict[str, Any]) -> None:
    from rich.text import Text

    out = console()
    worker = f" (worker {status['worker']})" if status.get("worker") else ""
    out.print(
        Text.assemble(("Hayhooks server is up and running", "bold green"), f" at {base_url}{worker}"), soft_wrap=True
    )
    if status.get("pipelines"):
        out.print(status_table(status))
    else:
        out.print(Text("No pipelines deployed.", style="yellow"))
    errors = status.get("errors") or {}
    if errors:
        out.print(errors_table(errors))


# --- run results ---------------------------------------------------------------------------------------------------
def show_result(value: Any) -> None:
    """A string as it is; anything else as indented JSON (highlighted on a terminal)."""
    out = console()
    if isinstance(value, str):
        out.print(value, markup=False, soft_wrap=True)
    elif out.is_terminal:
        out.print_json(data=value)
    else:
        out.print(json.dumps(value, indent=2, ensure_ascii=False), markup=False, soft_wrap=True)


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def stream_text(chunks: Iterable[str]) -> None:
    """Print a plain-text stream as it arrives, ending with a newline."""
    last = ""
    for chunk in chunks:
        if chunk:
            _write(chunk)
            last = chunk
    if not last.endswith("\n"):
        _write("\n")


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """``(event name, data)`` of each Server-Sent Event ("message" when unnamed; multi-line data joined)."""
    name, data = "message", []
    for line in lines:
        if line == "":
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield name, "\n".join(data)


def _stream_error(data: str) -> str:
    try:
        detail = json.loads(data).get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail or data or "the server reported an error")


def stream_events(lines: Iterable[str]) -> None:
    """Print SSE events as they arrive: text pieces run together, JSON objects each on their own line. An
    ``error`` event (the pipeline failed midway) raises ``ClientError``."""
    at_line_start = True
    for event, data in sse_events(lines):
        if event == "error":
            if not at_line_start:
                _write("\n")
            raise ClientError(f"The stream failed midway: {_stream_error(data)}")
        if data == "[DONE]":
            continue
        if data.startswith(("{", "[")):
            _write(("" if at_line_start else "\n") + data + "\n")
            at_line_start = True
        elif data:
            _write(data)
            at_line_start = data.endswith("\n")
    if not at_line_start:
        _write("\n")


def show_run_response(response: httpx.Response) -> None:
    """A run's answer as it arrives: SSE events, text chunks, a JSON result, or binary data (to a pipe)."""
    import httpx  # loaded already: the response came through it

    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "text/event-stream":
        stream_events(response.iter_lines())
    elif content_type.startswith("text/"):
        try:
            stream_text(response.iter_text())
        except httpx.RemoteProtocolError as exc:
            message = "The stream was cut off before its end: the pipeline failed midway (see the server log)."
            raise ClientError(message) from exc
    elif content_type.endswith("json"):
        body = json.loads(response.read() or b"null")
        show_result(body["result"] if isinstance(body, dict) and "result" in body else body)
    else:
        _print_binary(response, content_type)


def _print_binary(response: httpx.Response, content_type: str) -> None:
    data = response.read()
    if console().is_terminal:
        note(
            f"the pipeline answered {len(data)} bytes of {content_type or 'binary data'}; "
            "redirect stdout to a file to keep them."
        )
        return
    stream = getattr(console().file, "buffer", None)
    if stream is None:
        info(data.decode("utf-8", errors="replace"))
    else:
        stream.write(data)
        stream.flush()
