"""The one way Hayhooks runs blocking code: worker threads fed by a queue, with one story for context, cancellation
and limits.

anyio's thread runner and asyncio's default executor are general (capacity limiters, cancellation
shielding, ``concurrent.futures`` state machines with their own locks and conditions); measured on a
2-core machine, their round trip costs 50-150 µs of CPU, more than a no-op ``run_api`` and half of
everything else the server does for a request. A call needs less, so this module hands it over with one queue
put and comes back with one loop callback:

- **context**: a call runs in a copy of its caller's context variables (wrappers read the request context);
- **cancellation**: a caller that stops waiting (a timeout, a disconnect) abandons the call: one not yet picked
  up by a thread never starts; one already running finishes on its thread (Python cannot interrupt it), and
  the ``on_end`` given with it runs on the event loop exactly once, when it really ends;
- **limits**: threads are started as the load needs them, at most ``MAX_THREADS`` for runs. A call submitted
  from one of the executor's own threads (a wrapper that starts a pipeline through ``streaming_generator``) may
  go beyond that bound, so nested calls can never wait for a thread held by their own caller.

Two lanes share the machinery: ``RUNS`` (eager: a call that finds no idle thread gets one at once; right for
pipeline runs that may block for seconds) and ``STREAMS`` (patient: sync stream turns share a few threads and a
thread is added only when queued turns stop moving; see ``Lane``). This module imports nothing from Hayhooks, so
every layer (``streaming``, ``deploy``, ``server``) can use it.

Use::

    result = await executor.run(fn, *args, **kwargs)        # from async code
    executor.submit(fn, *args)                             # fire and forget, from any thread
    results = executor.map_blocking(fn, items, workers=4)  # from a plain thread, waits for all
    thread = executor.spawn(loop_forever, "name")          # a long-lived background thread (e.g. a watcher)
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_THREADS = 40  # as many concurrent sync runs as anyio's default thread limiter allows

_PENDING, _RUNNING, _ABANDONED = 0, 1, 2
_worker = threading.local()  # ``inside`` is True on the executor's own threads


class Lane:
    """Worker threads fed from a queue of callables, in arrival order except that urgent ones go first.

    Eager (``patience=None``): a callable that finds no idle thread gets a new one at once, up to
    ``max_threads`` (beyond it when submitted from an executor thread, see the module docstring).

    Patient (``patience=seconds``): beyond ``min_threads``, a new thread is started only when queued work has
    not moved for ``patience``, i.e. every thread is blocked (a stream waiting on a model) rather than busy.
    Short CPU-bound turns (fast streams) then run in arrival order on a few threads, instead of many threads
    fighting over the GIL, which is what makes a new stream's first chunk wait behind the others.

    Threads idle for ``IDLE_EXIT`` seconds end, so a burst does not leave hundreds of threads behind.
    ``start`` is the raw hand-off: the callable runs as is (no context copy); ``submit`` below adds the copy.
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
        self._picked = 0  # callables picked up so far (the patient lane's sign of progress)
        self._stalled = threading.Condition(self._lock)
        self._watching = False

    def start(self, call: Callable[[], None], urgent: bool = False) -> None:
        """Queue ``call``; an ``urgent`` one goes before every queued non-urgent one."""
        with self._lock:
            self._waiting += 1
            short = self._waiting > self._idle
            if self._patience is None:
                spawn = short and (self._threads < self._max or getattr(_worker, "inside", False))
            else:
                spawn = short and self._threads < min(self._min, self._max)
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
        _worker.inside = True
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

    # --- patient lanes: one watcher thread, awake only while work is queued with no thread free ----------------
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


RUNS = Lane("hayhooks-run", MAX_THREADS)
# Sync streams have a lane of their own, patient so that fast streams share a few threads.
STREAMS = Lane("hayhooks-stream", max_threads=10_000, min_threads=2, patience=0.02)


class Job:
    """One call awaited from the event loop: ``await start(job).result()``, or simply ``await run(fn)``."""

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


def start(job: Job, lane: Lane = RUNS) -> Job:
    """Hand ``job`` to a thread of ``lane``; await ``job.result()`` for its outcome."""
    lane.start(job._run_on_thread)
    return job


async def run(fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
    """``fn(*args, **kwargs)`` on a worker thread, in a copy of the caller's context; its result or exception.

    Cancelling the awaiting task abandons the call (a call not yet started never starts)."""
    call = functools.partial(fn, *args, **kwargs) if args or kwargs else fn
    return await start(Job(call)).result()


def submit(fn: Callable[..., Any], /, *args: Any, urgent: bool = False, lane: Lane = RUNS, **kwargs: Any) -> None:
    """Run ``fn(*args, **kwargs)`` on a worker thread, in a copy of the caller's context, without waiting.

    Callable from any thread, with or without an event loop. ``fn`` reports its own outcome (exceptions that
    escape it are lost, so catch them)."""
    lane.start(functools.partial(contextvars.copy_context().run, fn, *args, **kwargs), urgent)


def map_blocking(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``[fn(item) for item in items]`` with at most ``workers`` calls at once on worker threads; blocks the
    calling (plain) thread until all are done. The first exception of ``fn`` is raised after every call ended."""
    todo = list(enumerate(items))
    results: list[Any] = [None] * len(todo)
    errors: list[BaseException] = []
    lock = threading.Lock()
    finished = threading.Semaphore(0)
    pending = iter(todo)

    def work() -> None:
        while True:
            with lock:
                entry = next(pending, None)
            if entry is None:
                finished.release()
                return
            index, item = entry
            try:
                results[index] = fn(item)
            except BaseException as exc:  # noqa: BLE001 - raised again by the waiting caller
                errors.append(exc)

    count = max(1, min(workers, len(todo)))
    for _ in range(count):
        submit(work)
    for _ in range(count):
        finished.acquire()
    if errors:
        raise errors[0]
    return results


def spawn(target: Callable[[], Any], name: str) -> threading.Thread:
    """A dedicated daemon thread for a long-lived loop (a directory watcher): it never takes a worker thread,
    and runs in a copy of the caller's context. Returns the started thread (``join`` it to wait for the end)."""
    thread = threading.Thread(target=contextvars.copy_context().run, args=(target,), name=name, daemon=True)
    thread.start()
    return thread


__all__ = ["MAX_THREADS", "RUNS", "STREAMS", "Job", "Lane", "map_blocking", "run", "spawn", "start", "submit"]
