"""Generated pipeline files for the workloads.

Wrapper pipelines are folders holding a ``pipeline_wrapper.py``; YAML pipelines are single
``NAME.yml`` files with ``inputs``/``outputs`` sections. The components they use live in
``bench/pylib/bench_components.py``, which the harness puts on the servers' PYTHONPATH.
"""

from __future__ import annotations

import time
from pathlib import Path

STREAM_CHUNKS = 200

NOOP_WRAPPER = '''\
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, text: str) -> str:
        """Answer a constant string."""
        return "ok"
'''

_BUILD_PIPELINE = """\
from haystack import Pipeline

from bench_components import Shout, WordCount


def build_pipeline() -> Pipeline:
    pipeline = Pipeline()
    pipeline.add_component("shout", Shout())
    pipeline.add_component("count", WordCount())
    pipeline.connect("shout.text", "count.text")
    return pipeline
"""

SYNC_WRAPPER = (
    "from hayhooks import BasePipelineWrapper\n"
    + _BUILD_PIPELINE
    + '''

class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = build_pipeline()

    def run_api(self, text: str) -> dict:
        """Upper-case the text and count its words."""
        return self.pipeline.run({"shout": {"text": text}})["count"]
'''
)

ASYNC_WRAPPER = (
    "from hayhooks import BasePipelineWrapper\n"
    + _BUILD_PIPELINE
    + '''

class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = build_pipeline()

    async def run_api_async(self, text: str) -> dict:
        """Upper-case the text and count its words, with the pipeline's async runner."""
        result = await self.pipeline.run_async({"shout": {"text": text}})
        return result["count"]
'''
)

YAML_PIPELINE = """\
components:
  count:
    init_parameters: {}
    type: bench_components.WordCount
  shout:
    init_parameters: {}
    type: bench_components.Shout
connection_type_validation: true
connections:
- receiver: count.text
  sender: shout.text
max_runs_per_component: 100
metadata: {}
inputs:
  text: shout.text
outputs:
  words: count.words
"""

STREAM_WRAPPER = f"""\
from collections.abc import Generator

from haystack.dataclasses import StreamingChunk

from hayhooks import BasePipelineWrapper

CHUNKS = {STREAM_CHUNKS}


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> Generator:
        def chunks():
            for index in range(CHUNKS):
                yield StreamingChunk(content=f"tok{{index}} ")

        return chunks()
"""

# The CPU-bound wrapper's loop body; the harness times it to pick an iteration count (~20 ms).
BURN_SOURCE = """\
def burn(iterations: int) -> int:
    acc = 0
    for index in range(iterations):
        acc = (acc * 31 + index) & 0xFFFFFFFF
    return acc
"""


def cpu_wrapper(iterations: int) -> str:
    return (
        "from hayhooks import BasePipelineWrapper\n\n"
        f"ITERATIONS = {iterations}\n\n\n"
        + BURN_SOURCE
        + '''

class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, seed: int) -> int:
        """About 20 ms of pure-Python work."""
        return burn(ITERATIONS) ^ seed
'''
    )


def calibrate_burn(target_ms: float = 20.0) -> int:
    """Iterations of ``burn`` taking about ``target_ms`` of CPU in this interpreter.

    CPU time (not wall time) of the best of a few tries, so other load on the machine does not
    inflate the estimate.
    """
    namespace: dict = {}
    exec(BURN_SOURCE, namespace)  # noqa: S102 - our own constant source
    burn = namespace["burn"]
    probe = 200_000
    best = float("inf")
    for _ in range(9):
        started = time.thread_time()
        burn(probe)
        best = min(best, time.thread_time() - started)
    return max(1000, int(probe * (target_ms / 1000) / best))


# Request body of each run workload, by pipeline name.
RUN_WORKLOADS = {
    "noop": '{"text":"hello benchmark world"}',
    "sync": '{"text":"hello benchmark world"}',
    "async": '{"text":"hello benchmark world"}',
    "yaml": '{"text":"hello benchmark world"}',
}
CPU_BODY = '{"seed":7}'


def _write_wrapper(root: Path, name: str, source: str) -> None:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline_wrapper.py").write_text(source)


def write_run_set(root: Path, cpu_iterations: int) -> list[str]:
    """Pipelines of the run, streaming and CPU-bound workloads; returns their names."""
    root.mkdir(parents=True, exist_ok=True)
    _write_wrapper(root, "noop", NOOP_WRAPPER)
    _write_wrapper(root, "sync", SYNC_WRAPPER)
    _write_wrapper(root, "async", ASYNC_WRAPPER)
    (root / "yaml.yml").write_text(YAML_PIPELINE)
    _write_wrapper(root, "stream", STREAM_WRAPPER)
    _write_wrapper(root, "cpu", cpu_wrapper(cpu_iterations))
    return ["noop", "sync", "async", "yaml", "stream", "cpu"]


def write_cpu_set(root: Path, cpu_iterations: int) -> list[str]:
    root.mkdir(parents=True, exist_ok=True)
    _write_wrapper(root, "cpu", cpu_wrapper(cpu_iterations))
    return ["cpu"]


def write_many(root: Path, count: int) -> list[str]:
    """``count`` pipelines: half wrapper folders (2-component sync), half YAML files."""
    root.mkdir(parents=True, exist_ok=True)
    names = []
    for index in range(count):
        if index % 2 == 0:
            name = f"wrapped_{index:03d}"
            _write_wrapper(root, name, SYNC_WRAPPER)
        else:
            name = f"declared_{index:03d}"
            (root / f"{name}.yml").write_text(YAML_PIPELINE)
        names.append(name)
    return names
