"""``POST /deploy_files`` says which files it did not save or load, and why; a clean deploy answers as before."""

from __future__ import annotations

from pathlib import Path

WRAPPER = """
from pathlib import Path

from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.helper = (Path(__file__).parent / "helper.txt").read_text()

    def run_api(self) -> str:
        return self.helper
"""


def test_skipped_files_are_listed_with_their_reason(app_client, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    files = {
        "pipeline_wrapper.py": WRAPPER,
        "helper.txt": "kept",
        ".env": "SECRET=1",
        "config/.hidden.yml": "a: 1",
        "__pycache__/pipeline_wrapper.cpython-311.pyc": "bytes",
        "notes.txt~": "backup",
    }
    with app_client(pipelines) as client:
        response = client.post("/deploy_files", json={"name": "skipper", "files": files})
        assert response.status_code == 200, response.text
        body = response.json()
        assert {key: body[key] for key in ("name", "success", "endpoint")} == {
            "name": "skipper",
            "success": True,
            "endpoint": "/skipper/run",
        }
        reasons = {item["path"]: item["reason"] for item in body["skipped_files"]}
        assert set(reasons) == {
            ".env",
            "config/.hidden.yml",
            "__pycache__/pipeline_wrapper.cpython-311.pyc",
            "notes.txt~",
        }
        assert "hidden file" in reasons[".env"] and "hidden file" in reasons["config/.hidden.yml"]
        assert "__pycache__" in reasons["__pycache__/pipeline_wrapper.cpython-311.pyc"]
        assert "backup" in reasons["notes.txt~"]
        assert client.post("/skipper/run", json={}).json() == {"result": "kept"}

        saved = pipelines / "skipper"
        assert (saved / "helper.txt").read_text() == "kept"
        assert not (saved / ".env").exists() and not (saved / "__pycache__").exists()
        assert not (saved / "notes.txt~").exists() and not (saved / "config").exists()

        # Nothing skipped: exactly the fields Hayhooks has always answered.
        clean = client.post(
            "/deploy_files",
            json={
                "name": "clean",
                "files": {
                    "pipeline_wrapper.py": WRAPPER.replace(
                        'self.helper = (Path(__file__).parent / "helper.txt").read_text()', 'self.helper = "x"'
                    )
                },
            },
        )
        assert clean.json() == {"name": "clean", "success": True, "endpoint": "/clean/run"}, clean.text

        schema = client.get("/openapi.json").json()["components"]["schemas"]["DeployResponse"]
        assert "skipped_files" in schema["properties"]
