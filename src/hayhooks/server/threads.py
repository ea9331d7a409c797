"""Sync pipeline calls on worker threads: one queue hand-off there, one loop callback back.

``anyio.to_thread.run_sync`` and ``loop.run_in_executor`` are general (capacity limiters, cancellation
shielding, ``concurrent.futures`` state machines with their own locks and conditions); measured on a
2-core machine, their round trip costs 50-150 µs of CPU, more than a no-op ``run_api`` and half of
everything else the server does for a request. A run needs less:

- the caller's context variables (wrappers read the request context) -> the call runs in a copy of them;
- a bounded set of threads -> at most ``MAX_THREADS``, started as the load needs them;
- to know when a call really ends, even one whose caller stopped waiting (a timeout, a disconnect) -> the
  job's ``on_end`` runs on the event loop exactly once: when the call returns or raises, or at once if the
  caller gave up before a thread picked the call up (it then never runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

MAX_THREADS = 40  # as many concurrent sync runs as anyio's default thread limiter allows

_PENDING, _RUNNING, _ABANDONED = 0, 1, 2


class Job:
    """One sync call, awaited with ``await job.result()`` after ``start(job)``."""

    __slots__ = ("_call", "_context", "_loop", "_future", "_on_end", "_state", "_lock")

    def __init__(self, call: Callable[[], Any], on_end: Callable[[], None] | None = None) -> None:
        self._call = call
        self._context = contextvars.copy_context()
        self._loop = asyncio.get_running_loop()
        self._future: asyncio.Future[Any] = self._loop.create_future()
        self._on_end = on_end
        self._state = _PENDING
        self._lock = threading.Lock()

    async def result(self) -> Any:
        """The call's return value (or its exception). If the awaiting task is cancelled, see ``abandon``."""
        try:
            return await self._future
        except asyncio.CancelledError:
            self.abandon()
            raise

    def abandon(self) -> None:
        """The caller stops waiting. A call not yet started never starts, and ``on_end`` runs now."""
        with self._lock:
            never_started = self._state == _PENDING
            if never_started:
                self._state = _ABANDONED
        if never_started:
            self._end()

    def _run_on_thread(self) -> None:
        with self._lock:
            if self._state == _ABANDONED:
                return
            self._state = _RUNNING
        try:
            outcome, failed = self._context.run(self._call), False
        except BaseException as exc:  # handed to the awaiting task, which re-raises it
            outcome, failed = exc, True
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server has shut down
            self._loop.call_soon_threadsafe(self._deliver, outcome, failed)

    def _deliver(self, outcome: Any, failed: bool) -> None:
        self._end()
        if not self._future.done():
            if failed:
                self._future.set_exception(outcome)
            else:
                self._future.set_result(outcome)

    def _end(self) -> None:
        if self._on_end is not None:
            self._on_end()


class Pool:
    """Worker threads fed from a queue of callables, in arrival order except that urgent ones go first.

    Eager (``patience=None``): a callable that finds no idle thread gets a new one at once, up to
    ``max_threads``: right for pipeline runs, which may block for seconds on a model call.

    Patient (``patience=seconds``): beyond ``min_threads``, a new thread is started only when queued work has
    not moved for ``patience``, i.e. every thread is blocked (a stream waiting on a model) rather than busy.
    Short CPU-bound turns (fast streams) then run in arrival order on a few threads, instead of many threads
    fighting over the GIL, which is what makes a new stream's first chunk wait behind the others.

    Threads idle for ``IDLE_EXIT`` seconds end, so a burst does not leave hundreds of threads behind.
    """

    IDLE_EXIT = 60.0

    def __init__(self, name: str, max_threads: int, min_threads: int = 1, patience: float | None = None) -> None:
        self._name = name
        self._max = max_threads
        self._min = min_threads
        self._patience = patience
        # One token per queued callable; the callables wait in two lines, urgent ones served first.
        self._queue: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._urgent: deque[Callable[[], None]] = deque()
        self._normal: deque[Callable[[], None]] = deque()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0  # threads waiting for work
        self._waiting = 0  # callables queued and not yet picked up
        self._picked = 0  # callables picked up so far (the patient pool's sign of progress)
        self._stalled = threading.Condition(self._lock)
        self._watching = False

    def start(self, call: Callable[[], None], urgent: bool = False) -> None:
        """Queue ``call``; an ``urgent`` one goes before every queued non-urgent one."""
        with self._lock:
            self._waiting += 1
            short = self._waiting > self._idle
            spawn = short and self._threads < self._max and (self._patience is None or self._threads < self._min)
            if spawn:
                self._threads += 1
            elif short and self._patience is not None:
                self._watch_for_stall()
        (self._urgent if urgent else self._normal).append(call)
        self._queue.put(None)
        if spawn:
            self._spawn()

    def _spawn(self) -> None:
        threading.Thread(target=self._work, name=f"{self._name}-{self._threads}", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            try:
                self._queue.get(timeout=self.IDLE_EXIT)
            except queue.Empty:
                with self._lock:
                    self._idle -= 1
                    if self._waiting == 0:
                        self._threads -= 1
                        return
                continue
            with self._lock:
                self._idle -= 1
                self._waiting -= 1
                self._picked += 1
            call = self._next_call()
            call()
            del call

    def _next_call(self) -> Callable[[], None]:
        # The token taken guarantees a callable in one of the lines; another thread may take the one seen here.
        while True:
            try:
                return (self._urgent if self._urgent else self._normal).popleft()
            except IndexError:
                pass

    # --- patient pools: one watcher thread, awake only while work is queued with no thread free ----------------
    def _watch_for_stall(self) -> None:
        """Called with the lock held."""
        if not self._watching:
            self._watching = True
            threading.Thread(target=self._watch, name=f"{self._name}-watch", daemon=True).start()
        else:
            self._stalled.notify()

    def _watch(self) -> None:
        assert self._patience is not None
        while True:
            with self._lock:
                self._stalled.wait_for(lambda: self._waiting > self._idle)
                picked = self._picked
            time.sleep(self._patience)
            with self._lock:
                stuck = self._waiting > self._idle and self._picked == picked and self._threads < self._max
                if stuck:
                    self._threads += 1
            if stuck:
                self._spawn()


_runs = Pool("hayhooks-run", MAX_THREADS)


def start(job: Job) -> Job:
    _runs.start(job._run_on_thread)
    return job
