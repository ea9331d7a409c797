"""2.1.0's module-loader names (``hayhooks.server.utils.module_loader``): Hayhooks' own conftest unloads every
deployed pipeline's modules with them between tests."""

from __future__ import annotations

import sys
from pathlib import Path

WRAPPER = """
from hayhooks import BasePipelineWrapper
from .helper import GREETING


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, name: str) -> str:
        return f"{GREETING}, {name}"
"""


def _folder(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "pipeline_wrapper.py").write_text(WRAPPER)
    (folder / "helper.py").write_text("GREETING = 'hello'\n")
    return folder


def test_load_list_and_unload_a_pipeline_s_modules(tmp_path: Path) -> None:
    from hayhooks.server.pipelines.loader import REGISTRY_ROOT
    from hayhooks.server.utils.module_loader import load_pipeline_module, pipeline_modules, unload_pipeline_modules

    module = load_pipeline_module("greeter", _folder(tmp_path, "greeter"))
    other = load_pipeline_module("greeter-two", _folder(tmp_path, "greeter-two"))
    assert module.PipelineWrapper().run_api("ada") == "hello, ada"
    assert module.__name__.startswith(REGISTRY_ROOT + ".")

    names = set(pipeline_modules("greeter"))
    assert module.__name__ in names and any(name.endswith(".helper") for name in names)
    assert other.__name__ not in names  # a name that merely starts the same is another pipeline

    unload_pipeline_modules("greeter")
    assert module.__name__ not in sys.modules and other.__name__ in sys.modules
    unload_pipeline_modules(REGISTRY_ROOT)
    assert other.__name__ not in sys.modules and pipeline_modules("greeter-two") == {}
