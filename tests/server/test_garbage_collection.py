"""A served process collects the garbage its requests make, whether it was started with one worker or several.

The process relaxes Python's collector while it starts (``process/gc_tuning.py``); once the app has started it
must collect as usual again, or cyclic garbage made by requests would pile up. The wrapper below leaves reference
cycles behind in one request and, in later ones, allocates as an ordinary run would (without calling ``gc``) and
reports whether those cycles are gone.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from conftest import write_wrapper

CYCLES = textwrap.dedent(
    """
    import weakref

    from haystack import Pipeline
    from test_components import Sleep
    from hayhooks import BasePipelineWrapper

    LEFT_BEHIND = []
    KEPT = []


    class Node:
        def __init__(self) -> None:
            self.me = self  # a reference cycle: only the cyclic collector frees it


    class PipelineWrapper(BasePipelineWrapper):
        def setup(self) -> None:
            self.pipeline = Pipeline()
            self.pipeline.add_component("sleep", Sleep())

        def run_api(self, action: str) -> int:
            self.pipeline.run({"sleep": {"text": action}})
            if action == "litter":
                LEFT_BEHIND.extend(weakref.ref(Node()) for _ in range(100))
                return len(LEFT_BEHIND)
            KEPT.append([[i] for i in range(2_000)])  # objects a run keeps: the collector counts them
            return sum(ref() is not None for ref in LEFT_BEHIND)
    """
)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_garbage_cycles_made_by_requests_are_collected(start_server, tmp_path: Path, workers: str) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "cycles", CYCLES)
    server = start_server(pipelines, args=["--workers", workers])
    alive: list[int] = []
    with server.client() as client:  # one keep-alive connection: one worker
        littered = client.post("/cycles/run", json={"action": "litter"})
        assert littered.status_code == 200 and littered.json()["result"] == 100, littered.text
        # 20 runs keep 40,000 objects: far past the usual thresholds, far below the relaxed startup ones.
        while len(alive) < 20 and (not alive or alive[-1]):
            alive.append(client.post("/cycles/run", json={"action": "churn"}).json()["result"])
            time.sleep(0.05)
    assert alive[-1] == 0, alive
