"""The collector runs less often while the server starts, and as configured once the startup deploy is done."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hayhooks.server import startup_gc


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    startup_gc.restore()
    gc.set_threshold(*before)


def test_relax_raises_the_thresholds_and_restore_puts_them_back(thresholds) -> None:
    startup_gc.relax()
    assert gc.get_threshold() == startup_gc.STARTUP_THRESHOLDS
    startup_gc.relax()  # twice: still restores what was there first
    startup_gc.restore()
    assert gc.get_threshold() == thresholds
    startup_gc.restore()  # without relax: nothing to do
    assert gc.get_threshold() == thresholds


def test_app_restores_the_thresholds_after_its_startup_deploy(tmp_path: Path, app_client, thresholds) -> None:
    startup_gc.relax()
    with app_client(tmp_path / "pipelines") as client:
        assert client.get("/status").status_code == 200
        for _ in range(100):
            if gc.get_threshold() == thresholds:
                break
            time.sleep(0.05)
        assert gc.get_threshold() == thresholds
