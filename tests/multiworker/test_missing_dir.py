"""The pipelines dir removed while the server runs: deployed pipelines keep serving, and the next deploy that saves
creates the dir again (as Hayhooks 2.1.0 does: its users' test fixtures remove the dir between modules), saying so
in the log; the watcher then follows the dir's new content (it is the truth again, as at startup: what it holds is
loaded, pipelines it no longer holds are undeployed). A dir removed in the middle of a deploy is never half-applied.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import write_wrapper
from multiworker_support import deploy, fresh, poll_versions, versioned_wrapper

from hayhooks.deploy import files as pf

RECOVERY_SECONDS = 2.0  # the bound: deploys and hot reload work again this soon after the dir returns

SETUPS = {
    "one worker, watching": ([], {}, 1),
    "two workers": (["--workers", "2"], {}, 2),
    "one worker, not watching": ([], {"HAYHOOKS_WATCH_PIPELINES_DIR": "false"}, 1),
}


@pytest.mark.parametrize("setup", SETUPS)
def test_a_removed_pipelines_dir_is_created_again_by_the_next_save(setup: str, start_server, tmp_path: Path) -> None:
    args, env, workers = SETUPS[setup]
    watching = env.get("HAYHOOKS_WATCH_PIPELINES_DIR") != "false"
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    server = start_server(pipelines, args=args, env=env)
    assert deploy(server.url, "kept", versioned_wrapper("k1")).status_code == 200
    if workers > 1:
        kept_version = pf.folder_version(pipelines / "kept")
        # Setup, not the property under test: a loaded machine gets more time here.
        seen = poll_versions([server.url], "kept", kept_version, workers=workers, timeout=30)
        assert seen.all_at(kept_version, workers=workers), seen

    shutil.rmtree(pipelines)

    for _ in range(4 * workers):
        assert fresh("GET", f"{server.url}/status/fresh").status_code == 404
        kept = fresh("POST", f"{server.url}/kept/run", json={"text": "x"})  # what is deployed keeps serving
        assert kept.status_code == 200 and kept.json()["result"]["code_version"] == "k1", kept.text
    in_memory = fresh(
        "POST",
        f"{server.url}/deploy_files",
        json={"name": "memory", "files": {"pipeline_wrapper.py": versioned_wrapper("m")}, "save_files": False},
    )
    assert in_memory.status_code == 200, in_memory.text
    assert not pipelines.exists()  # a deploy that saves nothing does not create the dir

    # A deploy that saves creates the dir again (as Hayhooks 2.1.0 does) and says so in the log.
    response = deploy(server.url, "fresh", versioned_wrapper("f1"))
    assert response.status_code == 200, response.text
    assert (pipelines / "fresh" / pf.WRAPPER_FILE).is_file()
    fresh_version = pf.folder_version(pipelines / "fresh")
    seen = poll_versions([server.url], "fresh", fresh_version, workers=workers, timeout=RECOVERY_SECONDS)
    assert seen.all_at(fresh_version, workers=workers), seen

    if watching:  # hot reload follows the dir again: an added pipeline appears, the one it lost goes
        write_wrapper(pipelines, "manual", versioned_wrapper("m1"))
        manual_version = pf.folder_version(pipelines / "manual")
        seen = poll_versions([server.url], "manual", manual_version, workers=workers, timeout=RECOVERY_SECONDS)
        assert seen.all_at(manual_version, workers=workers), seen
        gone = poll_versions([server.url], "kept", None, workers=workers, timeout=RECOVERY_SECONDS)
        assert gone.all_at(None, workers=workers), gone
    log = server.log()
    assert "created it again" in log and str(pipelines) in log, log
    assert "read-only" not in log and "Traceback" not in log, log


REMOVES_THE_DIR = """
import shutil
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        shutil.rmtree({pipelines!r}, ignore_errors=True)  # the dir goes away while this deploy is loading

    def run_api(self) -> str:
        return "ran"
"""


def test_the_dir_removed_during_a_deploy_is_never_half_applied(app_client, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    with app_client(pipelines) as client:
        code = REMOVES_THE_DIR.format(pipelines=str(pipelines))
        response = client.post("/deploy_files", json={"name": "racer", "files": {"pipeline_wrapper.py": code}})
        assert response.status_code == 409, response.text
        assert "missing" in response.json()["detail"]
        assert not pipelines.exists()
        assert "racer" not in client.get("/status").json()["pipelines"]
        assert client.post("/racer/run", json={}).status_code == 404
