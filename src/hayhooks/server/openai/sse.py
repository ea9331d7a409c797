"""Sending SSE frames as they are produced, and stopping the producer when the client goes away.

A producer encodes a wrapper's items into frames and pushes them into a ``FrameSink``: an asyncio task for an
async generator, turns on the stream thread pool for a sync one (``_SyncPull``). The response coroutine sends
the waiting frames, at most ``SLICE`` per write, and lets other streams and requests go between writes, so many
fast streams interleave instead of one running to its end while the next one waits for its first chunk. A
producer that gets ``HIGH_WATER`` frames ahead pauses until the sender is down to ``LOW_WATER``. A second task
watches for ``http.disconnect``: the sink is then cancelled, the producer task is cancelled (closing the
wrapper's async generator), and a sync producer stops before its next item and closes the generator.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextvars import Context
from typing import Any, Protocol

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from hayhooks.server import threads

logger = logging.getLogger("hayhooks.openai")

HIGH_WATER = 64  # frames waiting to be sent before the producer pauses (the first frame is sent on its own)
LOW_WATER = 16  # a paused producer resumes when this few frames are left
PULL = 64  # items a sync stream turns into frames per turn on the stream pool (a turn also ends when the sink is full)
SLICE = 64  # frames per write: then the stream lets every other ready stream and request have its turn
CLOSE_TIMEOUT = 5.0  # seconds a wrapper's async generator may take to clean up
# While new streams wait for their first chunk, the threads of running streams step aside this long every
# POLITE_EVERY items: the event loop, which must read the new request, hand it on and send its first chunk,
# otherwise competes for the GIL with every fast generator. Measured with 32 busy clients: time to first chunk
# p99 ~40 -> ~30 ms at the same chunks/s (the running streams still have up to HIGH_WATER frames to send).
POLITE_PAUSE = 0.0005
POLITE_EVERY = 16


class _NewStreams:
    """Streams waiting for their first chunk. Changed on the event loop only; read by stream threads."""

    waiting = 0


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
        self._resume: Callable[[], None] | None = None  # a paused thread producer's next turn
        self._pause_lock = threading.Lock()
        self._limit = 1  # until the first frame is out, then HIGH_WATER
        self.finished = False
        self.cancelled = False
        self._first_pending = False

    def await_first_chunk(self) -> None:
        """Count this stream among the new ones until its first frames are sent (or it ends)."""
        if not self._first_pending:
            self._first_pending = True
            _NewStreams.waiting += 1

    def first_chunk_done(self) -> None:
        if self._first_pending:
            self._first_pending = False
            _NewStreams.waiting -= 1

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

    def pause_until_room(self, resume: Callable[[], None]) -> bool:
        """The sink is full: ``resume`` is called (by the sender) once there is room again. ``False`` when there
        is room already or the stream is cancelled: the producer goes on at once."""
        with self._pause_lock:
            if self.cancelled or not self.full():
                return False
            self._resume = resume
            return True

    def finish_threadsafe(self) -> None:
        self.finished = True
        self._wake_threadsafe()

    # --- sender ----------------------------------------------------------------------------------------------
    def _made_room(self) -> None:
        first_out = self._limit != HIGH_WATER
        self._limit = HIGH_WATER
        if first_out:
            self.first_chunk_done()
        if not first_out and len(self._frames) > LOW_WATER and not self.cancelled:
            return  # plenty left to send: wake the producer once, when it is down to LOW_WATER
        room = self._room
        if room is not None:
            self._room = None
            _wake(room)
        with self._pause_lock:
            resume, self._resume = self._resume, None
        if resume is not None:
            resume()

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
        self.first_chunk_done()
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


class _SyncPull:
    """A sync iterator turned into frames ``PULL`` items at a time, each turn a task on the stream pool.

    After a turn the next one queues behind every other stream's turn and new request, so streams take turns on
    a few threads in arrival order. A full sink pauses the stream (no thread held) until the sender has sent
    enough. A generator that blocks (a model streaming tokens) keeps its thread for as long as it blocks; the
    pool adds threads when queued turns stop moving (``threads.Pool``, patient mode).
    """

    def __init__(self, items: Iterable[Any], encoder: StreamEncoder, sink: FrameSink, context: Context) -> None:
        self._iterator = iter(items)
        self._encoder = encoder
        self._sink = sink
        self._context = context

    def schedule(self) -> None:
        STREAMS.start(self.turn)

    def turn(self, polite: bool = True) -> None:
        """Pull up to ``PULL`` items; a ``polite`` turn (every one but a new stream's first) steps aside for
        new streams."""
        # A copy per turn: the next turn may start (on another thread) before this one has left its context.
        self._context.copy().run(self._turn, polite)

    def _turn(self, polite: bool) -> None:
        sink, encoder = self._sink, self._encoder
        try:
            for index in range(PULL):
                if polite and _NewStreams.waiting and index % POLITE_EVERY == 0:
                    time.sleep(POLITE_PAUSE)  # releases the GIL for the event loop
                if sink.cancelled:
                    self._close()
                    return
                frame = encoder.feed(next(self._iterator))
                if frame:
                    sink.push_threadsafe(frame)
                    if sink.full() and sink.pause_until_room(self.schedule):
                        return
        except StopIteration:
            if not sink.cancelled:
                sink.push_threadsafe(encoder.finish())
            self._close()
            return
        except Exception as exc:
            if not sink.cancelled:
                logger.exception("A streamed answer failed")
                sink.push_threadsafe(encoder.error(_message(exc)))
            self._close()
            return
        self.schedule()

    def _close(self) -> None:
        close = getattr(self._iterator, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                logger.debug("Closing a stream failed", exc_info=True)
        self._sink.finish_threadsafe()


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
        _SyncPull(items, encoder, sink, contextvars.copy_context()).schedule()
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
# Sync streams have a pool of their own (runs keep theirs), patient so that fast streams share a few threads.
STREAMS = threads.Pool("hayhooks-stream", max_threads=10_000, min_threads=2, patience=0.02)


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
    context = contextvars.copy_context()

    def report(result: Any = None, error: BaseException | None = None) -> None:
        try:
            loop.call_soon_threadsafe(_settle, answered, result, error)
        except RuntimeError:  # the loop is gone
            sink.cancelled = True

    def work() -> None:
        try:
            result = context.run(call)
        except BaseException as exc:  # noqa: BLE001 - raised again by the awaiting request
            report(error=exc)
            return
        streaming = is_stream(result)
        report((streaming, None if streaming else result))
        if streaming:
            _SyncPull(result, encoder, sink, context).turn(polite=False)

    sink.await_first_chunk()
    STREAMS.start(work, urgent=True)  # a new stream's first chunk goes before other streams' next turns
    try:
        streaming, result = await answered
    except asyncio.CancelledError:
        sink.cancel()
        raise
    except BaseException:
        sink.first_chunk_done()
        raise
    if not streaming:
        sink.first_chunk_done()
    return streaming, result


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
            sink.first_chunk_done()
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
