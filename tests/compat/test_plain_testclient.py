"""``TestClient(create_app())`` without ``with``, as Hayhooks' own tests use it: no lifespan runs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from compat_support import HEADERS_WRAPPER, LEGACY_PATHS_WRAPPER, RUN_API_STREAM_WRAPPER
from conftest import write_wrapper
from fastapi.testclient import TestClient

COUNTING_WRAPPER = """
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        with open({log!r}, "a") as f:
            f.write("setup\\n")

    def run_api(self) -> str:
        return "counted"
"""


@pytest.fixture
def pipelines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The pipelines dir, set the way Hayhooks' conftest does it: on the shared ``settings`` object."""
    from hayhooks.settings import settings

    folder = tmp_path / "pipelines"
    write_wrapper(folder, "greeter", LEGACY_PATHS_WRAPPER)
    write_wrapper(folder, "counted", COUNTING_WRAPPER.format(log=str(tmp_path / "setups.txt")))
    monkeypatch.setattr(settings, "pipelines_dir", str(folder))
    monkeypatch.setattr(settings, "watch_pipelines_dir", False)
    return folder


def test_requests_are_served_with_the_startup_deploy(pipelines: Path) -> None:
    from hayhooks.server.app import create_app

    client = TestClient(create_app())
    status = client.get("/status")
    assert status.status_code == 200
    assert {"greeter", "counted"} <= set(status.json()["pipelines"])
    assert client.post("/greeter/run", json={"word": "Di"}).json() == {"result": "Hello, Di!"}
    assert client.get("/health/ready").status_code == 200

    deployed = client.post("/deploy_files", json={"name": "headers", "files": {"pipeline_wrapper.py": HEADERS_WRAPPER}})
    assert deployed.status_code == 200, deployed.text
    answer = client.post("/headers/run", json={"word": "Ed"}, headers={"X-Tenant": "t1"})
    assert answer.json()["result"]["tenant"] == "t1"
    chat = client.post(
        "/v1/chat/completions",
        json={"model": "greeter", "messages": [{"role": "user", "content": "Flo"}]},
    )
    assert chat.json()["choices"][0]["message"]["content"] == "Hello, Flo!"


def test_concurrent_first_requests_deploy_the_dir_once(pipelines: Path) -> None:
    from hayhooks.server.app import create_app

    app = create_app()
    client = TestClient(app)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: client.post("/counted/run", json={}), range(8)))
    assert [a.json() for a in answers] == [{"result": "counted"}] * 8
    setups = (pipelines.parent / "setups.txt").read_text().splitlines()
    assert setups == ["setup"]

    with TestClient(app) as lifespan_client:  # a lifespan starting afterwards does not deploy again
        assert lifespan_client.post("/counted/run", json={}).json() == {"result": "counted"}
    assert (pipelines.parent / "setups.txt").read_text().splitlines() == ["setup"]


def test_run_api_streams_plain_text_without_ui_events(pipelines: Path) -> None:
    from hayhooks.server.app import create_app

    client = TestClient(create_app())
    files = {"pipeline_wrapper.py": RUN_API_STREAM_WRAPPER}
    assert client.post("/deploy_files", json={"name": "streamer", "files": files}).status_code == 200
    with client.stream("POST", "/streamer/run", json={"query": "two words"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert "".join(response.iter_text()) == "two words "


HEADER_VARIANT = """
from starlette.datastructures import Headers

from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, q: str, {declaration}) -> dict:
        return {{"q": q, "headers": dict(headers) if headers is not None else None}}
"""


def test_which_headers_declarations_are_injected(pipelines: Path) -> None:
    from hayhooks.server.app import create_app

    client = TestClient(create_app())

    def deploy(name: str, declaration: str):  # noqa: ANN202
        files = {"pipeline_wrapper.py": HEADER_VARIANT.format(declaration=declaration)}
        return client.post("/deploy_files", json={"name": name, "files": files})

    # Headers without a default cannot be filled outside a request: refused, naming the expected declaration.
    refused = deploy("required_headers", "headers: Headers")
    assert refused.status_code == 422 and "headers: Headers | None = None" in refused.json()["detail"]
    # Any other type is an ordinary body field, as in 2.1.0.
    assert deploy("dict_headers", "headers: dict | None = None").status_code == 200
    answer = client.post("/dict_headers/run", json={"q": "a", "headers": {"k": "v"}}, headers={"X-Other": "1"})
    assert answer.json()["result"] == {"q": "a", "headers": {"k": "v"}}
    assert deploy("injected", "headers: Headers | None = None").status_code == 200
    answer = client.post("/injected/run", json={"q": "b"}, headers={"X-Other": "2"})
    assert answer.json()["result"]["headers"]["x-other"] == "2"


LISTING_WRAPPER = """
from pathlib import Path

from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self) -> list:
        folder = Path(__file__).parent
        found = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        return sorted(str(p.relative_to(folder)) for p in found)
"""


def test_files_to_ignore_patterns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hayhooks.deploy import files
    from hayhooks.server.app import create_app
    from hayhooks.settings import Settings

    monkeypatch.setattr(files, "_ignore_patterns", files._ignore_patterns)  # process-wide: restored afterwards
    monkeypatch.setenv("HAYHOOKS_FILES_TO_IGNORE_PATTERNS", "*.md,drafts")
    settings = Settings(_env_file=None, pipelines_dir=str(tmp_path / "pipelines"), watch_pipelines_dir=False)
    assert settings.files_to_ignore_patterns == ["*.md", "drafts"]
    write_wrapper(
        tmp_path / "pipelines", "lister", LISTING_WRAPPER, **{"notes.md": "x", "helper.py": "X = 1", "data.txt": "d"}
    )
    (tmp_path / "pipelines" / "lister" / "drafts").mkdir()
    (tmp_path / "pipelines" / "lister" / "drafts" / "old.py").write_text("")
    client = TestClient(create_app(settings))
    assert client.post("/lister/run", json={}).json()["result"] == ["data.txt", "helper.py", "pipeline_wrapper.py"]

    files = {"pipeline_wrapper.py": LISTING_WRAPPER, "README.md": "# x", "drafts/a.py": "", "extra.py": ""}
    assert client.post("/deploy_files", json={"name": "sent", "files": files}).status_code == 200
    assert client.post("/sent/run", json={}).json()["result"] == ["extra.py", "pipeline_wrapper.py"]
