"""DirectorySync and event classification, in-process: real files, real registry, real deploy service."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import write_wrapper, write_yaml

from hayhooks.deploy import files as pf
from hayhooks.deploy.service import DeployService
from hayhooks.deploy.sync import DirectorySync
from hayhooks.deploy.watcher import affected_names
from hayhooks.registry import Registry
from hayhooks.settings import Settings

WRAPPER = """
from hayhooks import BasePipelineWrapper

class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.tag = "{tag}"

    def run_api(self, text: str) -> str:
        return self.tag + text
"""

BROKEN = """
from hayhooks import BasePipelineWrapper

class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        raise RuntimeError("no model here")
"""

YAML = """
components:
  upper:
    type: test_components.Upper
connections: []
inputs:
  text: upper.text
outputs:
  text: upper.text
"""


@pytest.fixture
def pipelines_dir(tmp_path: Path) -> Path:
    path = tmp_path / "pipelines"
    path.mkdir()
    return path


@pytest.fixture
def sync(pipelines_dir: Path, monkeypatch: pytest.MonkeyPatch) -> DirectorySync:
    from conftest import COMPONENTS_PATH

    monkeypatch.syspath_prepend(COMPONENTS_PATH)
    monkeypatch.setenv("HAYSTACK_DESERIALIZATION_ALLOWLIST", "test_components")
    settings = Settings(_env_file=None, pipelines_dir=str(pipelines_dir), watch_pipelines_dir=False)
    return DirectorySync(DeployService(settings, Registry()))


def tag_of(sync: DirectorySync, name: str) -> str:
    return sync.registry.get(name).wrapper.run_api(text="")


# --- which names a batch of events touches --------------------------------------------------------------------


def test_events_name_only_the_touched_pipelines(tmp_path: Path) -> None:
    root = tmp_path / "p"
    events = [(2, f"{root}/alpha/pipeline_wrapper.py"), (1, f"{root}/beta.yml"), (2, f"{root}/gamma")]
    assert affected_names(root, events) == {"alpha", "beta", "beta.yml", "gamma"}


def test_caches_and_vcs_churn_are_ignored(tmp_path: Path) -> None:
    root = tmp_path / "p"
    events = [
        (1, f"{root}/alpha/__pycache__/x.cpython-311.pyc"),
        (1, f"{root}/.git/objects/ab/cdef"),
        (2, f"{root}/alpha/x.swp"),
    ]
    assert affected_names(root, events) == set()


def test_our_own_hidden_siblings_map_to_their_pipeline(tmp_path: Path) -> None:
    root = tmp_path / "p"
    events = [(1, f"{root}/.alpha.staging-0123abcd/pipeline_wrapper.py"), (3, f"{root}/.beta.yml.hayhooks-managed")]
    assert affected_names(root, events) == {"alpha", "beta", "beta.yml"}


def test_foreign_hidden_entries_and_the_dir_itself_mean_rescan_everything(tmp_path: Path) -> None:
    root = tmp_path / "p"
    assert affected_names(root, [(1, f"{root}/..data")]) is None
    assert affected_names(root, [(1, f"{root}/..2024_05_01_10_00_00.123/a.yml")]) is None
    assert affected_names(root, [(3, str(root))]) is None


# --- syncing -------------------------------------------------------------------------------------------------


def test_new_changed_and_removed_pipelines_follow_the_dir(sync: DirectorySync, pipelines_dir: Path) -> None:
    write_wrapper(pipelines_dir, "alpha", WRAPPER.format(tag="a1"))
    write_yaml(pipelines_dir, "beta", YAML)
    result = sync.rescan(None)
    assert sorted(result.loaded) == ["alpha", "beta"]
    assert sync.registry.get("alpha").version == pf.folder_version(pipelines_dir / "alpha")

    write_wrapper(pipelines_dir, "alpha", WRAPPER.format(tag="a2"))
    assert sync.rescan({"alpha"}).loaded == ["alpha"]
    assert tag_of(sync, "alpha") == "a2"

    (pipelines_dir / "beta.yml").unlink()
    assert sync.rescan({"beta", "beta.yml"}).removed == ["beta"]
    assert sync.registry.names() == ["alpha"]


def test_unchanged_content_is_not_reloaded(sync: DirectorySync, pipelines_dir: Path) -> None:
    write_wrapper(pipelines_dir, "alpha", WRAPPER.format(tag="a1"))
    sync.rescan(None)
    first = sync.registry.get("alpha")
    os.utime(pipelines_dir / "alpha" / "pipeline_wrapper.py")  # touched, same content
    assert sync.rescan({"alpha"}).loaded == []
    assert sync.rescan(None).loaded == []
    assert sync.registry.get("alpha") is first


def test_a_worker_does_not_reload_its_own_request_save(sync: DirectorySync, pipelines_dir: Path) -> None:
    deployed = sync.deployer.deploy_files("alpha", {"pipeline_wrapper.py": WRAPPER.format(tag="r")})
    assert (pipelines_dir / "alpha" / pf.MANAGED_MARKER).exists()
    assert sync.rescan({"alpha"}).loaded == []
    assert sync.rescan(None).loaded == []
    assert sync.registry.get("alpha") is deployed


def test_a_broken_change_keeps_the_old_version_and_reports_it(sync: DirectorySync, pipelines_dir: Path) -> None:
    write_wrapper(pipelines_dir, "alpha", WRAPPER.format(tag="good"))
    sync.rescan(None)
    good_version = sync.registry.get("alpha").version

    write_wrapper(pipelines_dir, "alpha", BROKEN)
    result = sync.rescan({"alpha"})
    assert "no model here" in result.failed["alpha"]
    assert sync.registry.get("alpha").version == good_version
    assert "no model here" in sync.registry.errors()["alpha"]
    assert sync.rescan(None).failed == {}  # a periodic rescan does not retry the same broken content

    write_wrapper(pipelines_dir, "alpha", WRAPPER.format(tag="fixed"))
    assert sync.rescan({"alpha"}).loaded == ["alpha"]
    assert tag_of(sync, "alpha") == "fixed"
    assert sync.registry.errors() == {}


def test_reverting_a_broken_change_clears_the_error(sync: DirectorySync, pipelines_dir: Path) -> None:
    write_wrapper(pipelines_dir, "alpha", WRAPPER.format(tag="good"))
    sync.rescan(None)
    write_wrapper(pipelines_dir, "alpha", BROKEN)
    sync.rescan({"alpha"})
    write_wrapper(pipelines_dir, "alpha", WRAPPER.format(tag="good"))
    assert sync.rescan({"alpha"}).loaded == []
    assert sync.registry.errors() == {}


def test_in_memory_request_deploys_are_left_alone(sync: DirectorySync, pipelines_dir: Path) -> None:
    sync.deployer.deploy_files("mem", {"pipeline_wrapper.py": WRAPPER.format(tag="m")}, save_files=False)
    assert not (pipelines_dir / "mem").exists()
    assert sync.rescan(None).removed == []
    assert "mem" in sync.registry


def test_a_missing_dir_undeploys_nothing(sync: DirectorySync, pipelines_dir: Path) -> None:
    write_wrapper(pipelines_dir, "alpha", WRAPPER.format(tag="a"))
    sync.rescan(None)
    shutil.rmtree(pipelines_dir)
    assert sync.rescan(None).removed == []
    assert "alpha" in sync.registry


def test_configmap_style_symlink_swap_is_picked_up_by_a_full_rescan(sync: DirectorySync, pipelines_dir: Path) -> None:
    # Kubernetes layout: NAME.yml -> ..data/NAME.yml, ..data -> ..<timestamp>/ (swapped atomically on update).
    first = pipelines_dir / "..2024_01"
    first.mkdir()
    (first / "beta.yml").write_text(YAML)
    (pipelines_dir / "..data").symlink_to("..2024_01")
    (pipelines_dir / "beta.yml").symlink_to("..data/beta.yml")
    assert sync.rescan(None).loaded == ["beta"]

    second = pipelines_dir / "..2024_02"
    second.mkdir()
    (second / "beta.yml").write_text(YAML.replace("text: upper.text\n", "shout: upper.text\n", 1))
    (pipelines_dir / "..data_tmp").symlink_to("..2024_02")
    os.replace(pipelines_dir / "..data_tmp", pipelines_dir / "..data")
    shutil.rmtree(first)
    assert sync.rescan(None).loaded == ["beta"]
    assert sync.registry.get("beta").version == pf.content_version((second / "beta.yml").read_text())


def test_ensure_loads_a_pipeline_present_on_disk(sync: DirectorySync, pipelines_dir: Path) -> None:
    assert sync.ensure("alpha") is None
    write_wrapper(pipelines_dir, "alpha", WRAPPER.format(tag="a"))
    assert sync.ensure("alpha").name == "alpha"
    assert sync.ensure("../etc") is None
    assert sync.ensure(".hidden") is None
