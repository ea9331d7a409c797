"""``deploy/files.py``: copying a pipeline folder to its runtime dir and the version that names it."""

from __future__ import annotations

import os
from pathlib import Path

from hayhooks.deploy import files as pf


def test_copy_folder_returns_the_version_of_what_it_copied(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "helpers").mkdir(parents=True)
    (source / "pipeline_wrapper.py").write_text("VALUE = 1\n")
    (source / "helpers" / "names.py").write_text("NAME = 'x'\n")
    script = source / "prepare.sh"
    script.write_text("#!/bin/sh\necho ready\n")
    script.chmod(0o755)
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "pipeline_wrapper.cpython-311.pyc").write_bytes(b"stale bytecode")

    target = tmp_path / "runtime"
    version = pf.copy_folder(source, target)

    assert version == pf.folder_version(source) == pf.folder_version(target)
    copied = sorted(path.relative_to(target).as_posix() for path in target.rglob("*") if path.is_file())
    assert copied == ["helpers/names.py", "pipeline_wrapper.py", "prepare.sh"]
    assert (target / "helpers" / "names.py").read_text() == "NAME = 'x'\n"
    assert os.access(target / "prepare.sh", os.X_OK)


def test_a_changed_file_changes_the_version(tmp_path: Path) -> None:
    (tmp_path / "pipeline_wrapper.py").write_text("VALUE = 1\n")
    before = pf.folder_version(tmp_path)
    (tmp_path / "pipeline_wrapper.py").write_text("VALUE = 2\n")
    assert pf.folder_version(tmp_path) != before
