"""``hayhooks.cli.pipeline.run_pipeline_with_files`` (2.1.0's name for what ``pipeline run`` does), called from
Python against a live server, and the upload names ``pipeline run`` sends."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import invoke, make_folder, one_error_line, spawn_server, write_text

from hayhooks.cli.errors import ClientError
from hayhooks.cli.pipeline import run_pipeline_with_files

UPLOAD_WRAPPER = """
from fastapi import UploadFile
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, files: list[UploadFile] | None = None, label: str = "") -> dict:
        return {"label": label, "names": sorted(f.filename for f in files or [])}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("cli-pipeline")
    make_folder(workdir / "pipelines", "echo")
    make_folder(workdir / "pipelines", "uploads", UPLOAD_WRAPPER)
    process = spawn_server(workdir / "pipelines", workdir)
    yield process
    process.stop()


def test_run_pipeline_with_files_from_python(server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_pipeline_with_files(
        pipeline_name="echo", params={"text": "hi", "times": 2}, files={}, host="127.0.0.1", port=server.port
    )
    assert '"hihi"' in capsys.readouterr().out
    upload = write_text(tmp_path / "a.txt", "A")
    run_pipeline_with_files(
        pipeline_name="uploads",
        params={"label": "x"},
        files={"renamed.txt": upload},
        host="127.0.0.1",
        port=server.port,
    )
    assert "renamed.txt" in capsys.readouterr().out
    with pytest.raises(ClientError, match="not found"):
        run_pipeline_with_files(pipeline_name="nope", params={}, files={}, host="127.0.0.1", port=server.port)


def test_pipeline_run_refuses_two_uploads_with_one_name(server, tmp_path: Path) -> None:
    first = write_text(tmp_path / "one" / "same.txt", "1")
    second = write_text(tmp_path / "two" / "same.txt", "2")
    result = invoke("pipeline", "run", "uploads", "--file", str(first), "--file", str(second), server=server)
    assert result.exit_code == 1
    assert "same.txt" in one_error_line(result.stderr)
    ok = invoke("pipeline", "run", "uploads", "--dir", str(tmp_path / "one"), "-p", "label=d", server=server)
    assert ok.exit_code == 0, ok.stderr
    assert "same.txt" in ok.stdout
