"""A deploy rolling out over workers: a worker still on the old revision leaves newer executions alone."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from hayhooks.durable import DurableConfig, DurableEngine, MemoryExecutionStore, build_spec
from hayhooks.wrapper import BasePipelineWrapper


class Job(BaseModel):
    n: int


def _wrapper(revision: str) -> BasePipelineWrapper:
    class Wrapper(BasePipelineWrapper):
        durable_revision = revision

        def setup(self) -> None:
            self.pipeline = None

        async def run_durable_async(self, context, request: Job) -> dict:
            return {"revision": revision, "n": request.n}

    return Wrapper()


async def test_old_revision_worker_leaves_new_executions_to_the_new_one():
    store = MemoryExecutionStore()
    config = DurableConfig(poll_interval_seconds=0.02, lease_duration_ms=60_000)
    old_spec = build_spec(_wrapper("rev-1"))  # deployed first
    await asyncio.sleep(0.01)
    new_spec = build_spec(_wrapper("rev-2"))  # the new version, deployed on the other worker afterwards
    old = DurableEngine(store, config, lambda name, kind: old_spec, lambda: ["job"], worker="old")
    new = DurableEngine(store, config, lambda name, kind: new_spec, lambda: ["job"], worker="new")
    record, _ = await new.submit("job", new_spec, {"n": 1}, None, None)
    await old.start()
    try:
        for _ in range(25):  # many claim rounds of the old worker
            old.wake()
            await asyncio.sleep(0.02)
        assert (await old.get(record.execution_id)).status == "queued"
        await new.start()
        for _ in range(500):
            current = await new.get(record.execution_id)
            if current.status == "completed":
                break
            await asyncio.sleep(0.01)
        assert current.result == {"revision": "rev-2", "n": 1}
        # Work the old worker accepts meanwhile stays with the old worker: the new one leaves it alone too.
        stale, _ = await old.submit("job", old_spec, {"n": 2}, None, None)
        for _ in range(500):
            current = await new.get(stale.execution_id)
            if current.status != "queued":
                break
            old.wake()
            await asyncio.sleep(0.01)
        assert current.status == "completed"
        assert current.result == {"revision": "rev-1", "n": 2}
    finally:
        await old.stop()
        await new.stop()
