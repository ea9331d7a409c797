"""A pipeline of the dir that fails at startup is logged once, with its reason, and loaded once: the watcher takes
the failure over instead of loading (and running ``setup()`` of) the same broken version again."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from conftest import write_wrapper, write_yaml

BROKEN = """
from pathlib import Path

from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        with open(Path({counter!r}), "a") as file:
            file.write("setup\\n")
        raise RuntimeError("the model file is not there")

    def run_api(self) -> str:
        return "never"
"""

GOOD = """
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self) -> str:
        return "fine"
"""


def _listed(url: str) -> list[str]:
    return httpx.get(f"{url}/status").json()["pipelines"]


@pytest.mark.parametrize("watch", ["true", "false"])
def test_a_failed_wrapper_is_logged_once_with_its_reason(start_server, tmp_path: Path, watch: str) -> None:
    pipelines = tmp_path / "pipelines"
    counter = tmp_path / "setup-calls"
    write_wrapper(pipelines, "broken", BROKEN.format(counter=str(counter)))
    write_wrapper(pipelines, "good", GOOD)
    write_yaml(pipelines, "bad_yaml", "components: [unclosed\n")
    # Sequential: the parallel strategy retries a failure alone once (against import races between threads).
    env = {"HAYHOOKS_WATCH_PIPELINES_DIR": watch, "HAYHOOKS_STARTUP_DEPLOY_STRATEGY": "sequential"}
    server = start_server(pipelines, env=env)
    if watch == "true":
        # The watcher's first batch rescans the whole dir; a pipeline added now is loaded by that rescan or a
        # later one, so once it is listed, the broken pipeline has been looked at again too. (``/status`` lists;
        # ``/status/later`` would load it on demand, without any rescan.)
        write_wrapper(pipelines, "later", GOOD)
        deadline = time.monotonic() + 30
        while "later" not in _listed(server.url) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "later" in _listed(server.url), server.log()
    status = httpx.get(f"{server.url}/status").json()
    assert "good" in status["pipelines"] and "broken" not in status["pipelines"]
    assert "the model file is not there" in status["errors"]["broken"]
    log = server.log()
    for name, reason in (("broken", "the model file is not there"), ("bad_yaml", "bad_yaml")):
        lines = [line for line in log.splitlines() if f"'{name}'" in line]
        assert len(lines) == 1, log
        assert reason in lines[0] and "| ERROR " in lines[0], lines
    assert counter.read_text() == "setup\n"  # the watcher did not run setup() of the broken version again
