"""The worker-thread pools behind sync runs and sync streams (real threads, no event loop needed)."""

from __future__ import annotations

import threading
import time

from hayhooks.server.threads import Pool

WAIT = 5.0


def _blocked_pool(max_threads: int = 1, **options) -> tuple[Pool, threading.Event]:
    """A pool whose only thread is held until the returned event is set."""
    pool = Pool("test-pool", max_threads=max_threads, **options)
    release, holding = threading.Event(), threading.Event()

    def hold() -> None:
        holding.set()
        release.wait(WAIT)

    pool.start(hold)
    assert holding.wait(WAIT)
    return pool, release


def test_urgent_calls_run_before_queued_ones_and_every_call_runs_once() -> None:
    pool, release = _blocked_pool()
    order: list[str] = []
    finished = threading.Event()
    for name in ("a", "b"):
        pool.start(lambda name=name: order.append(name))
    pool.start(lambda: order.append("urgent"), urgent=True)
    pool.start(lambda: (order.append("c"), finished.set()))
    release.set()
    assert finished.wait(WAIT)
    assert order == ["urgent", "a", "b", "c"]


def test_patient_pool_adds_a_thread_when_queued_work_stalls() -> None:
    pool, release = _blocked_pool(max_threads=4, min_threads=1, patience=0.05)
    ran = threading.Event()
    try:
        pool.start(ran.set)
        # The only thread is blocked: the watcher must start a second one after `patience`.
        assert ran.wait(WAIT)
    finally:
        release.set()


def test_many_calls_from_many_threads_all_run() -> None:
    pool = Pool("test-pool", max_threads=3)
    done = threading.Semaphore(0)
    count = 200

    def submit(urgent: bool) -> None:
        for _ in range(count):
            pool.start(done.release, urgent=urgent)

    submitters = [threading.Thread(target=submit, args=(flag,)) for flag in (True, False)]
    for thread in submitters:
        thread.start()
    deadline = time.monotonic() + WAIT
    for _ in range(2 * count):
        assert done.acquire(timeout=max(0.0, deadline - time.monotonic()))
    for thread in submitters:
        thread.join(WAIT)
