"""``hayhooks pipeline run``: JSON and multipart inputs, results, streams and failures, against a live server."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from cli_support import (
    ECHO_WRAPPER,
    address_env,
    dead_port,
    invoke,
    make_folder,
    one_error_line,
    run_cli,
    spawn_server,
    write_text,
)
from conftest import HAYHOOKS, base_env

STREAM_WRAPPER = """
import time
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, pause: float = 0.0):
        def words():
            yield "first line\\n"
            time.sleep(pause)
            yield "second "
            yield "line"
        return words()
"""

SSE_WRAPPER = """
from hayhooks import BasePipelineWrapper, SSEStream


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self) -> SSEStream:
        return SSEStream(iter(["Hel", "lo", {"done": True}]))
"""

UPLOAD_WRAPPER = """
from fastapi import UploadFile
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, files: list[UploadFile] | None = None, label: str = "", limit: int = 0) -> dict:
        files = files or []
        return {
            "files": {f.filename: len(f.file.read()) for f in files},
            "label": label,
            "limit": limit,
        }
"""

TEXT_WRAPPER = """
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, name: str) -> str:
        return f"Hello, {name}! [bold]not markup[/bold]"
"""

BOOM_WRAPPER = """
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, text: str) -> str:
        raise RuntimeError("the retriever is offline")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("run-server")
    pipelines = workdir / "pipelines"
    for name, code in [
        ("echo", ECHO_WRAPPER),
        ("stream", STREAM_WRAPPER),
        ("events", SSE_WRAPPER),  # not "sse": reserved for the MCP transport
        ("upload", UPLOAD_WRAPPER),
        ("text", TEXT_WRAPPER),
        ("boom", BOOM_WRAPPER),
    ]:
        make_folder(pipelines, name, code)
    process = spawn_server(pipelines, workdir, env={"HAYHOOKS_SHOW_TRACEBACKS": "true"})
    yield process
    process.stop()


def test_params_are_json_when_json_and_text_otherwise(server) -> None:
    result = run_cli(
        "pipeline",
        "run",
        "echo",
        "-p",
        "text=ab",
        "--param",
        "times=2",
        "-p",
        'tags=["x", "y"]',
        "-p",
        "upper=true",
        server=server,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"text": "ABAB", "tags": ["x", "y"]}


def test_a_string_result_is_printed_as_is(server) -> None:
    result = run_cli("pipeline", "run", "text", "-p", "name=Ada Lovelace", server=server)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello, Ada Lovelace! [bold]not markup[/bold]\n"


def test_a_number_where_text_is_expected_gets_a_quoting_hint(server) -> None:
    result = invoke("pipeline", "run", "echo", "-p", "text=42", server=server)
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert "Pipeline 'echo' rejected the input (422): text: Input should be a valid string" in line
    assert "--param 'text=\"42\"'" in line

    quoted = invoke("pipeline", "run", "echo", "-p", 'text="42"', server=server)
    assert quoted.exit_code == 0, quoted.stderr
    assert json.loads(quoted.stdout)["text"] == "42"


def test_missing_and_malformed_params(server) -> None:
    missing = run_cli("pipeline", "run", "echo", server=server)
    assert missing.returncode == 1
    assert "rejected the input (422): text: Field required" in one_error_line(missing.stderr)

    malformed = invoke("pipeline", "run", "echo", "-p", "text", server=server)
    assert malformed.exit_code == 1
    assert "Invalid --param 'text': use key=value" in one_error_line(malformed.stderr)


def test_files_and_folders_are_uploaded_as_multipart(server, tmp_path) -> None:
    notes = write_text(tmp_path / "notes.txt", "hello")
    image = tmp_path / "pixel.bin"
    image.write_bytes(bytes(range(256)))
    write_text(tmp_path / "docs" / "a.md", "aaa")
    write_text(tmp_path / "docs" / "deep" / "b.md", "bb")

    result = run_cli(
        "pipeline",
        "run",
        "upload",
        "--file",
        str(notes),
        "-f",
        str(image),
        "--dir",
        str(tmp_path / "docs"),
        "-p",
        "label=42",
        "-p",
        "limit=3",
        server=server,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "files": {"notes.txt": 5, "pixel.bin": 256, "a.md": 3, "deep/b.md": 2},
        "label": "42",  # a str field keeps the form text as is
        "limit": 3,
    }


def test_missing_upload_fails_before_sending(server, tmp_path) -> None:
    result = invoke("pipeline", "run", "upload", "--file", str(tmp_path / "absent.pdf"), server=server)
    assert result.exit_code == 1
    assert "no such file" in one_error_line(result.stderr)


def test_a_text_stream_is_printed_as_it_arrives(server) -> None:
    command = [*HAYHOOKS, "pipeline", "run", "stream", "-p", "pause=3"]
    proc = subprocess.Popen(command, env=base_env(**address_env(server)), stdout=subprocess.PIPE, text=True)
    try:
        started = time.monotonic()
        first = proc.stdout.readline()
        assert first == "first line\n"
        assert proc.poll() is None, "the first chunk should be printed while the pipeline still runs"
        assert time.monotonic() - started < 30
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rest == "second line\n" and proc.returncode == 0


def test_server_sent_events_are_printed_by_their_data(server) -> None:
    result = run_cli("pipeline", "run", "events", server=server)
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'Hello\n{"done": true}\n'


def test_unknown_pipeline(server) -> None:
    result = run_cli("pipeline", "run", "nope", "-p", "a=1", server=server)
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert "Pipeline 'nope' not found" in line and "hayhooks status" in line


def test_a_failing_pipeline_shows_one_line_even_when_the_server_sends_a_traceback(server) -> None:
    result = run_cli("pipeline", "run", "boom", "-p", "text=x", server=server)
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert "Run of 'boom' failed (500)" in line and "the retriever is offline" in line


def test_run_against_a_stopped_server() -> None:
    result = run_cli("pipeline", "run", "echo", "-p", "text=x", env=address_env(port=dead_port()))
    assert result.returncode == 1
    assert "Cannot reach the Hayhooks server" in one_error_line(result.stderr)
