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
