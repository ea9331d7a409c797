"""Sending SSE frames as they are produced, and stopping the producer when the client goes away.

A producer (an asyncio task for async generators, a thread for sync ones) encodes items into frames and pushes
them into a ``FrameSink``. The response coroutine sends whatever frames are waiting in one write, so nothing
waits for the end of the stream, and a fast producer costs one write per batch rather than per chunk. A second
task watches for ``http.disconnect``: the sink is then cancelled, the producer task is cancelled (closing the
wrapper's async generator), and a producer thread stops before its next item and closes the sync generator.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Protocol

from anyio import CapacityLimiter, to_thread
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

logger = logging.getLogger("hayhooks.openai")

HIGH_WATER = 64  # frames waiting to be sent before the producer pauses (the first frame is sent on its own)
LOW_WATER = 16  # a paused producer resumes when this few frames are left
SLICE = 8  # frames per write: then the stream lets every other ready stream and request have its turn
CLOSE_TIMEOUT = 5.0  # seconds a wrapper's async generator may take to clean up


class StreamEncoder(Protocol):
    def feed(self, item: Any) -> str: ...

    def finish(self) -> str: ...

    def error(self, message: str) -> str: ...


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


class FrameSink:
    """Frames waiting to be sent. One producer (on the loop or on a thread), one sender (on the loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._frames: deque[str] = deque()
        self._waiter: asyncio.Future | None = None
        self._room: asyncio.Future | None = None
        self._room_event = threading.Event()
        self._limit = 1  # until the first frame is out, then HIGH_WATER
        self.finished = False
        self.cancelled = False

    # --- producer on the event loop --------------------------------------------------------------------------
    def push(self, frame: str) -> None:
        self._frames.append(frame)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            _wake(waiter)

    def full(self) -> bool:
        return len(self._frames) >= self._limit

    async def wait_for_room(self) -> None:
        """Let the sender catch up (also yields to the loop when a generator never awaits)."""
        while self.full() and not self.cancelled:
            self._room = self._loop.create_future()
            await self._room

    def finish(self) -> None:
        self.finished = True
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            _wake(waiter)

    # --- producer on a thread --------------------------------------------------------------------------------
    def _wake_threadsafe(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            try:
                self._loop.call_soon_threadsafe(_wake, waiter)
            except RuntimeError:  # loop closed: the server is gone
                self.cancelled = True

    def push_threadsafe(self, frame: str) -> None:
        self._frames.append(frame)
        self._wake_threadsafe()

    def wait_for_room_blocking(self) -> None:
        while self.full() and not self.cancelled:
            self._room_event.clear()
            if not self.full():
                break
            self._room_event.wait(0.5)

    def finish_threadsafe(self) -> None:
        self.finished = True
        self._wake_threadsafe()

    # --- sender ----------------------------------------------------------------------------------------------
    def _made_room(self) -> None:
        first_out = self._limit != HIGH_WATER
        self._limit = HIGH_WATER
        if not first_out and len(self._frames) > LOW_WATER and not self.cancelled:
            return  # plenty left to send: wake the producer once, when it is down to LOW_WATER
        room = self._room
        if room is not None:
            self._room = None
            _wake(room)
        if not self._room_event.is_set():
            self._room_event.set()

    def has_frames(self) -> bool:
        return bool(self._frames)

    async def next_batch(self) -> str | None:
        """Up to ``SLICE`` waiting frames joined; ``None`` once the producer finished (or the client left) and
        everything is sent."""
        frames = self._frames
        while True:
            if self.cancelled:
                return None
            done = self.finished
            if frames:
                batch = "".join([frames.popleft() for _ in range(min(SLICE, len(frames)))])
                self._made_room()
                return batch
            if done:
                return None
            waiter = self._loop.create_future()
            self._waiter = waiter
            if frames or self.finished or self.cancelled:
                self._waiter = None
                continue
            await waiter

    def cancel(self) -> None:
        self.cancelled = True
        self.finish()
        self._made_room()


# --- producers ------------------------------------------------------------------------------------------------
Producer = Callable[[FrameSink], Callable[[], None]]


async def _close_async(stream: Any) -> None:
    close = getattr(stream, "aclose", None)
    if close is None:
        return
    try:
        await asyncio.wait_for(close(), CLOSE_TIMEOUT)
    except Exception:
        logger.debug("Closing a stream failed", exc_info=True)


async def _pump_async(stream: AsyncIterator[Any], encoder: StreamEncoder, sink: FrameSink) -> None:
    push, feed = sink.push, encoder.feed
    try:
        async for item in stream:
            frame = feed(item)
            if frame:
                push(frame)
                if sink.full():
                    await sink.wait_for_room()
            if sink.cancelled:
                return
        push(encoder.finish())
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        logger.exception("A streamed answer failed")
        push(encoder.error(_message(exc)))
    finally:
        sink.finish()
        await _close_async(stream)


def _pump_sync(items: Iterable[Any], encoder: StreamEncoder, sink: FrameSink) -> None:
    iterator = iter(items)
    push, feed = sink.push_threadsafe, encoder.feed
    try:
        for item in iterator:
            if sink.cancelled:
                return
            frame = feed(item)
            if frame:
                push(frame)
                if sink.full():
                    sink.wait_for_room_blocking()
        if not sink.cancelled:
            push(encoder.finish())
    except Exception as exc:
        if not sink.cancelled:
            logger.exception("A streamed answer failed")
            push(encoder.error(_message(exc)))
    finally:
        close = getattr(iterator, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                logger.debug("Closing a stream failed", exc_info=True)
        sink.finish_threadsafe()


def _message(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def from_async(stream: AsyncIterator[Any], encoder: StreamEncoder) -> Producer:
    """Produce frames from an async iterator in a task of its own (cancelled when the client leaves)."""

    def start(sink: FrameSink) -> Callable[[], None]:
        task = asyncio.ensure_future(_pump_async(stream, encoder, sink))
        return task.cancel

    return start


def from_sync(items: Iterable[Any], encoder: StreamEncoder) -> Producer:
    """Produce frames from a sync iterator on a stream thread (it stops at the next item once cancelled)."""

    def start(sink: FrameSink) -> Callable[[], None]:
        _in_stream_thread(_pump_sync, items, encoder, sink)
        return sink.cancel

    return start


def from_values(values: list[Any], encoder: StreamEncoder) -> Producer:
    """Frames for an answer that is already complete (a wrapper returned a string)."""

    def start(sink: FrameSink) -> Callable[[], None]:
        frames = [encoder.feed(value) for value in values] + [encoder.finish()]
        sink.push("".join(frames))
        sink.finish()
        return sink.cancel

    return start


def already_started(sink: FrameSink) -> Callable[[], None]:
    """The producer of a stream whose thread is already pumping (see ``call_then_stream``)."""
    return sink.cancel


# --- stream threads ---------------------------------------------------------------------------------------------
# Sync streams occupy a thread for their whole length, so they do not take tokens of anyio's default limiter
# (shared with every sync run_api); they reuse its idle worker threads, in the caller's context.
STREAM_THREADS = 100_000
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = weakref.WeakKeyDictionary()
_running: set[asyncio.Future] = set()


def _stream_limiter() -> CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(STREAM_THREADS)
    return limiter


def _in_stream_thread(func: Callable[..., Any], *args: Any) -> None:
    task = asyncio.ensure_future(to_thread.run_sync(func, *args, limiter=_stream_limiter()))
    _running.add(task)
    task.add_done_callback(_running.discard)


def _settle(future: asyncio.Future, result: Any = None, error: BaseException | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


async def call_then_stream(
    call: Callable[[], Any], encoder: StreamEncoder, sink: FrameSink, is_stream: Callable[[Any], bool]
) -> tuple[bool, Any]:
    """Run a sync wrapper method on a stream thread and, if it returns a sync stream, pump it on the same thread.

    Returns ``(True, None)`` once frames are flowing into ``sink``, or ``(False, result)`` for any other return
    value. An exception of ``call`` is raised here, before any response is started. One thread hop per request.
    """
    loop = asyncio.get_running_loop()
    answered: asyncio.Future = loop.create_future()

    def report(result: Any = None, error: BaseException | None = None) -> None:
        try:
            loop.call_soon_threadsafe(_settle, answered, result, error)
        except RuntimeError:  # the loop is gone
            sink.cancelled = True

    def work() -> None:
        try:
            result = call()
        except BaseException as exc:  # noqa: BLE001 - raised again by the awaiting request
            report(error=exc)
            return
        streaming = is_stream(result)
        report((streaming, None if streaming else result))
        if streaming:
            _pump_sync(result, encoder, sink)

    _in_stream_thread(work)
    try:
        return await answered
    except asyncio.CancelledError:
        sink.cancel()
        raise


# --- response ---------------------------------------------------------------------------------------------------
class SSEResponse(Response):
    """``text/event-stream`` response fed by a producer; stops the producer when the client disconnects."""

    media_type = "text/event-stream"

    def __init__(
        self,
        producer: Producer,
        sink: FrameSink | None = None,
        opening: str = "",
        on_close: Callable[[], Awaitable[None]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status_code = 200
        self.background = None
        self.producer = producer
        self.sink = sink
        self.opening = opening
        self.on_close = on_close
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._stream(receive, send)
        finally:
            if self.on_close is not None:
                await self.on_close()

    async def _stream(self, receive: Receive, send: Send) -> None:
        sink = self.sink or FrameSink(asyncio.get_running_loop())
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if self.opening:
            await send({"type": "http.response.body", "body": self.opening.encode("utf-8"), "more_body": True})
        watcher = asyncio.ensure_future(_watch_disconnect(receive, sink))
        stop = self.producer(sink)
        try:
            while (batch := await sink.next_batch()) is not None:
                await send({"type": "http.response.body", "body": batch.encode("utf-8", "replace"), "more_body": True})
                if sink.has_frames():  # a fast producer: take turns with the other streams and new requests
                    await asyncio.sleep(0)
            if not sink.cancelled:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            logger.debug("Client went away while streaming")
        finally:
            if not sink.finished or sink.cancelled:
                sink.cancel()
                stop()
            watcher.cancel()


async def _watch_disconnect(receive: Receive, sink: FrameSink) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            logger.debug("Client disconnected; stopping the stream")
            sink.cancel()
            return
