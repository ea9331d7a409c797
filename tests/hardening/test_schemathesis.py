"""A bounded schemathesis run against /openapi.json of a secured server: no request may answer 5xx."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import write_wrapper
from hardening_support import ADMIN_KEY, INVOKE_KEY, UPPER

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# Request shapes schemathesis should exercise beyond plain JSON: nested models, optional values, file uploads.
SHAPES = '''
from fastapi import UploadFile
from pydantic import BaseModel, Field
from hayhooks import BasePipelineWrapper


class Item(BaseModel):
    name: str = Field(description="What to buy")
    quantity: int = 1


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, items: list[Item], note: str | None = None, tags: dict[str, float] | None = None) -> dict:
        """Summarize a shopping list."""
        return {"names": [item.name for item in items], "total": sum(item.quantity for item in items), "note": note}
'''

UPLOAD = '''
from fastapi import UploadFile
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, files: list[UploadFile] | None = None, label: str = "") -> dict:
        """Count uploaded bytes."""
        return {"label": label, "sizes": [len(f.file.read()) for f in files or []]}

    def run_file_upload(self, filename, content_type, content, purpose) -> dict:
        return {"id": "file-1", "filename": filename or "upload", "bytes": len(content), "purpose": purpose}
'''


def test_fuzzing_the_openapi_document_finds_no_server_error(start_server, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    shutil.copy(EXAMPLES / "greeting.yml", pipelines / "greeting.yml")
    write_wrapper(pipelines, "upper", UPPER)
    write_wrapper(pipelines, "shapes", SHAPES)
    write_wrapper(pipelines, "upload", UPLOAD)
    env = {
        "HAYHOOKS_API_KEYS": json.dumps([INVOKE_KEY]),
        "HAYHOOKS_ADMIN_API_KEYS": json.dumps([ADMIN_KEY]),
        "HAYHOOKS_SERVE_MCP": "true",
        "HAYHOOKS_MAX_REQUEST_BODY_MB": "5",
    }
    server = start_server(pipelines, env=env)
    assert set(server.client().get("/status").json()["pipelines"]) == {"greeting", "upper", "shapes", "upload"}
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
        "--checks", "not_a_server_error",
        "--max-examples", "25",
        "--workers", "1",  # schemathesis threads can trip a CPython 3.11 ast bug (SystemError)
        "--seed", "1416",
        "--header", f"Authorization: Bearer {ADMIN_KEY}",
        "--request-timeout", "30",
        "--max-failures", "5",
        "--report-dir", str(tmp_path / "schemathesis"),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert ADMIN_KEY not in server.log()
