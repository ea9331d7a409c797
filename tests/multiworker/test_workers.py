"""Real `hayhooks run` processes: two workers of one instance, and two instances sharing one pipelines dir."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from conftest import write_wrapper
from multiworker_support import WORKER_HEADER, deploy, fresh, poll_versions, versioned_wrapper

from hayhooks.deploy import files as pf

CONVERGE_SECONDS = 2.0  # the bound for every worker to serve a change


def test_two_workers_serve_a_runtime_deploy_at_once_and_hot_reload_edits(start_server, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    server = start_server(pipelines, args=["--workers", "2"])

    response = deploy(server.url, "slow", versioned_wrapper("v1"))
    assert response.status_code == 200, response.text

    # Right after the deploy answered, every request succeeds, whichever worker takes it.
    statuses, workers = [], set()
    for attempt in range(1000):
        if attempt >= 200 and len(workers) >= 2:
            break
        answer = fresh("POST", f"{server.url}/slow/run", json={"text": "hi"})
        statuses.append(answer.status_code)
        workers.add(answer.headers[WORKER_HEADER])
        assert answer.status_code == 200, (attempt, answer.text)
        assert answer.json()["result"]["code_version"] == "v1"
    assert len(workers) == 2, f"only saw {workers} in {len(statuses)} fresh connections"

    # A slow run starts on v1; the wrapper is edited on disk while it runs.
    started = tmp_path / "started"
    slow_result: dict = {}
    slow = threading.Thread(
        target=lambda: slow_result.update(
            fresh("POST", f"{server.url}/slow/run", json={"text": "old", "seconds": 3, "started": str(started)}).json()[
                "result"
            ]
        )
    )
    slow.start()
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert started.read_text() == "v1"

    write_wrapper(pipelines, "slow", versioned_wrapper("v2"))
    edited_version = pf.folder_version(pipelines / "slow")
    seen = poll_versions([server.url], "slow", edited_version, workers=2, timeout=CONVERGE_SECONDS)
    assert seen.all_at(edited_version, workers=2), f"not converged in {CONVERGE_SECONDS}s: {seen}"
    assert seen.by_worker.keys() == workers

    slow.join(30)
    assert slow_result == {"code_version": "v1", "text": "old"}  # finished on the version it started on
    for _ in range(20):
        assert fresh("POST", f"{server.url}/slow/run", json={"text": "hi"}).json()["result"]["code_version"] == "v2"


def start_pair(start_server, pipelines: Path):
    servers = [start_server(pipelines, wait=False) for _ in range(2)]
    for server in servers:
        server.wait_ready()
    return servers


def test_two_instances_sharing_a_dir_converge_after_deploys_to_either(start_server, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    manual = write_wrapper(pipelines, "manual", versioned_wrapper("m"))  # put there by an operator
    first, second = start_pair(start_server, pipelines)
    urls = [first.url, second.url]

    assert deploy(first.url, "shared", versioned_wrapper("a")).status_code == 200
    version_a = first.client().get("/status/shared").json()["version"]
    seen = poll_versions(urls, "shared", version_a, workers=2, timeout=CONVERGE_SECONDS)
    assert seen.all_at(version_a, workers=2), seen

    assert deploy(second.url, "shared", versioned_wrapper("b"), overwrite=True).status_code == 200
    version_b = second.client().get("/status/shared").json()["version"]
    assert version_b != version_a
    seen = poll_versions(urls, "shared", version_b, workers=2, timeout=CONVERGE_SECONDS)
    assert seen.all_at(version_b, workers=2), seen
    assert fresh("POST", f"{first.url}/shared/run", json={"text": "x"}).json()["result"]["code_version"] == "b"

    # Undeploy through one instance removes the saved files, so the pipeline disappears everywhere.
    assert first.client().post("/undeploy/shared").status_code == 200
    assert not (pipelines / "shared").exists()
    seen = poll_versions(urls, "shared", None, workers=2, timeout=CONVERGE_SECONDS)
    assert seen.all_at(None, workers=2), seen

    # An operator's pipeline is not deleted by undeploy: 409, until it is removed from the dir.
    response = second.client().post("/undeploy/manual")
    assert response.status_code == 409
    assert "remove it" in response.json()["detail"]
    assert (manual / "pipeline_wrapper.py").exists()
    for server in (first, second):
        assert server.client().get("/status/manual").status_code == 200
    shutil.rmtree(manual)
    seen = poll_versions(urls, "manual", None, workers=2, timeout=CONVERGE_SECONDS)
    assert seen.all_at(None, workers=2), seen
