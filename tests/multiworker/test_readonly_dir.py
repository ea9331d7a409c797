"""A pipelines dir mounted read-only still hot-reloads; runtime deploy answers 409 and changes nothing.

Tests run as root, where chmod does not stop writes, so the server runs in its own mount namespace with the dir
bind-mounted read-only (``unshare --mount --map-root-user``). The test writes through the normal, writable
view of the same dir, as an operator or a ConfigMap update would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import write_wrapper
from multiworker_support import deploy, fresh, poll_versions, readonly_prefix, start_prefixed_server, versioned_wrapper

from hayhooks.deploy import files as pf


def listing(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def test_readonly_dir_hot_reloads_and_refuses_runtime_changes(tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    folder = write_wrapper(pipelines, "manual", versioned_wrapper("m1"))
    prefix = readonly_prefix(pipelines)
    if prefix is None:
        pytest.skip("cannot mount the pipelines dir read-only here (unshare --mount --map-root-user not permitted)")
    server = start_prefixed_server(prefix, pipelines, tmp_path)
    try:
        before = listing(pipelines)
        version = fresh("GET", f"{server.url}/status/manual").json()["version"]

        for name, overwrite in (("fresh", False), ("manual", True)):
            response = deploy(server.url, name, versioned_wrapper("request"), overwrite=overwrite)
            assert response.status_code == 409, response.text
            assert "read-only" in response.json()["detail"]
        undeploy = fresh("POST", f"{server.url}/undeploy/manual")
        assert undeploy.status_code == 409, undeploy.text

        # Nothing was half-applied: same files, same pipelines, same version.
        assert listing(pipelines) == before
        status = fresh("GET", f"{server.url}/status").json()
        assert status["pipelines"] == ["manual"] and status["details"][0]["version"] == version

        # Changes made to the dir itself are still applied.
        write_wrapper(pipelines, "manual", versioned_wrapper("m2"))
        edited = pf.folder_version(folder)
        seen = poll_versions([server.url], "manual", edited, workers=1, timeout=2.0)
        assert seen.all_at(edited, workers=1), seen
        answer = fresh("POST", f"{server.url}/manual/run", json={"text": "x"}).json()
        assert answer["result"]["code_version"] == "m2"

        shutil.rmtree(folder)
        seen = poll_versions([server.url], "manual", None, workers=1, timeout=2.0)
        assert seen.all_at(None, workers=1), seen
    finally:
        server.stop()
