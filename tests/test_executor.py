"""The one executor behind every blocking call, checked by what its users see.

Through the server: a sync ``run_api`` sees the request's context, a run whose caller timed out keeps its slot
only until it really ends, and many concurrent sync runs all complete. Directly: calls run in a copy of the
caller's context, an abandoned call never starts, nested calls never wait for their own caller's thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import write_wrapper

from hayhooks import executor

WAIT = 10.0

CONTEXT_WRAPPER = """
import time

from hayhooks import BasePipelineWrapper, get_request_context


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self, hold: float = 0.0) -> dict:
        time.sleep(hold)
        context = get_request_context()
        return {"request_id": context.request_id, "header": context.headers.get("x-probe")}
"""


@pytest.fixture
def serve(tmp_path: Path, app_client):
    write_wrapper(tmp_path / "pipelines", "probe", CONTEXT_WRAPPER)

    def start(**settings):
        return app_client(tmp_path / "pipelines", **settings)

    return start


def test_sync_run_api_sees_its_own_request_context(serve) -> None:
    with serve() as client:
        answers = [client.post("/probe/run", json={}, headers={"x-probe": f"p{i}"}).json() for i in range(3)]
    results = [answer["result"] for answer in answers]
    assert [result["header"] for result in results] == ["p0", "p1", "p2"]
    assert len({result["request_id"] for result in results}) == 3


def test_timed_out_sync_run_keeps_its_slot_until_it_really_ends(serve) -> None:
    with serve(request_timeout=0.3, max_concurrent_runs=1, max_queued_runs=0) as client:
        timed_out = client.post("/probe/run", json={"hold": 3.0})
        assert timed_out.status_code == 504
        busy = client.post("/probe/run", json={})  # the first run still holds the only slot
        assert busy.status_code == 503
        deadline = time.monotonic() + WAIT
        while (answer := client.post("/probe/run", json={})).status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert answer.status_code == 200  # freed once the sync call returned


async def test_many_concurrent_sync_runs_all_complete(tmp_path: Path) -> None:
    from hayhooks.server.app import create_app
    from hayhooks.settings import Settings

    write_wrapper(tmp_path / "pipelines", "probe", CONTEXT_WRAPPER)
    app = create_app(Settings(pipelines_dir=str(tmp_path / "pipelines"), watch_pipelines_dir=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=WAIT * 3) as client:
            count = 3 * executor.MAX_THREADS
            answers = await asyncio.gather(*(client.post("/probe/run", json={"hold": 0.05}) for _ in range(count)))
    assert [answer.status_code for answer in answers] == [200] * count
    assert len({answer.json()["result"]["request_id"] for answer in answers}) == count


# --- the executor's own contract --------------------------------------------------------------------------------
probe: contextvars.ContextVar[str] = contextvars.ContextVar("probe", default="unset")


async def test_calls_run_in_a_copy_of_the_callers_context() -> None:
    probe.set("caller")

    def read_and_change() -> str:
        seen = probe.get()
        probe.set("changed on the thread")
        return seen

    assert await executor.run(read_and_change) == "caller"
    assert probe.get() == "caller"
    seen: list[str] = []
    done = threading.Event()
    executor.submit(lambda: (seen.append(probe.get()), done.set()))
    assert done.wait(WAIT) and seen == ["caller"]


async def test_results_and_exceptions_reach_the_caller() -> None:
    assert await executor.run(sum, [1, 2, 3]) == 6
    assert await executor.run(dict, a=1) == {"a": 1}
    with pytest.raises(ZeroDivisionError):
        await executor.run(lambda: 1 / 0)


async def test_an_abandoned_call_never_starts_and_its_on_end_runs_once() -> None:
    lane = executor.Lane("test-lane", max_threads=1)
    release, holding = threading.Event(), threading.Event()
    lane.start(lambda: (holding.set(), release.wait(WAIT)))
    assert holding.wait(WAIT)  # the only thread is busy: the next call waits in the queue
    started, ends = threading.Event(), []
    job = executor.start(executor.Job(started.set, on_end=lambda: ends.append("end")), lane)
    waiter = asyncio.ensure_future(job.result())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    finished = threading.Event()
    lane.start(finished.set)  # runs after the abandoned call's turn
    assert finished.wait(WAIT)
    assert not started.is_set()
    assert ends == ["end"]


async def test_max_threads_calls_run_at_once() -> None:
    barrier = threading.Barrier(executor.MAX_THREADS, timeout=WAIT)
    results = await asyncio.gather(*(executor.run(barrier.wait) for _ in range(executor.MAX_THREADS)))
    assert sorted(results) == list(range(executor.MAX_THREADS))


async def test_nested_calls_never_wait_for_their_callers_threads() -> None:
    """Every run thread waits for a call it submitted itself (a wrapper using streaming_generator)."""
    outer = executor.MAX_THREADS
    barrier = threading.Barrier(outer, timeout=WAIT)

    def wrapper() -> str:
        barrier.wait()  # all run threads are taken by callers now
        done, box = threading.Event(), []
        executor.submit(lambda: (box.append("inner"), done.set()))
        assert done.wait(WAIT), "the nested call never got a thread"
        return box[0]

    assert await executor.run(lambda: "warm") == "warm"
    results = await asyncio.gather(*(executor.run(wrapper) for _ in range(outer)))
    assert results == ["inner"] * outer


def test_map_blocking_keeps_order_bounds_parallelism_and_raises_the_first_error() -> None:
    lock, running, peak = threading.Lock(), [0], [0]

    def square(value: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return value * value

    assert executor.map_blocking(square, range(12), workers=3) == [value * value for value in range(12)]
    assert 1 <= peak[0] <= 3
    assert executor.map_blocking(square, [], workers=3) == []

    def fails(value: int) -> int:
        if value == 2:
            raise ValueError("two")
        return value

    with pytest.raises(ValueError, match="two"):
        executor.map_blocking(fails, range(5), workers=2)


def test_spawned_thread_runs_in_the_callers_context() -> None:
    probe.set("spawner")
    seen: list[str] = []
    thread = executor.spawn(lambda: seen.append(probe.get()), "test-spawn")
    thread.join(WAIT)
    assert seen == ["spawner"] and not thread.is_alive()
