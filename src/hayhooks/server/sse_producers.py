"""Producers of stream frames: a wrapper's answer (async generator, sync generator or plain values) turned into
frames pushed into a ``FrameSink`` (see ``hayhooks.server.sse``).

Sync generators run in turns on the executor's stream lane (``hayhooks.executor.STREAMS``): ``PULL`` items a
turn, then the next turn queues behind every other stream's, so many fast streams share a few threads in arrival
order, and a new stream's first turn is urgent (it goes first). These are measured speed tricks (see
``docs/performance.md``): keep them.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextvars import Context
from typing import Any, Protocol

from hayhooks import executor
from hayhooks.server.sse import FrameSink, NewStreams, Producer

logger = logging.getLogger("hayhooks.stream")

PULL = 64  # items a sync stream turns into frames per turn on the stream pool (a turn also ends when the sink is full)
CLOSE_TIMEOUT = 5.0  # seconds a wrapper's async generator may take to clean up
# While new streams wait for their first chunk, the threads of running streams step aside this long every
# POLITE_EVERY items: the event loop, which must read the new request, hand it on and send its first chunk,
# otherwise competes for the GIL with every fast generator. Measured with 32 busy clients: time to first chunk
# p99 ~40 -> ~30 ms at the same chunks/s (the running streams still have up to HIGH_WATER frames to send).
POLITE_PAUSE = 0.0005
POLITE_EVERY = 16


class StreamEncoder(Protocol):
    """Items -> frames for one stream. ``error`` returns the frame reporting a failure midway ("" if none)."""

    def feed(self, item: Any) -> str: ...

    def finish(self) -> str: ...

    def error(self, message: str) -> str: ...


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
        last = encoder.finish()
        if last:
            push(last)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        logger.exception("A streamed answer failed")
        sink.fail(exc, encoder.error(_message(exc)))
    finally:
        sink.finish()
        await _close_async(stream)


class _SyncPull:
    """A sync iterator turned into frames ``PULL`` items at a time, each turn a task on the stream pool.

    After a turn the next one queues behind every other stream's turn and new request, so streams take turns on
    a few threads in arrival order. A full sink pauses the stream (no thread held) until the sender has sent
    enough. A generator that blocks (a model streaming tokens) keeps its thread for as long as it blocks; the
    lane adds threads when queued turns stop moving (``executor.Lane``, patient mode).
    """

    def __init__(self, items: Iterable[Any], encoder: StreamEncoder, sink: FrameSink, context: Context) -> None:
        self._iterator = iter(items)
        self._encoder = encoder
        self._sink = sink
        self._context = context

    def schedule(self) -> None:
        executor.STREAMS.start(self.turn)

    def turn(self, polite: bool = True) -> None:
        """Pull up to ``PULL`` items; a ``polite`` turn (every one but a new stream's first) steps aside for
        new streams."""
        # A copy per turn: the next turn may start (on another thread) before this one has left its context.
        self._context.copy().run(self._turn, polite)

    def _turn(self, polite: bool) -> None:
        sink, encoder = self._sink, self._encoder
        try:
            for index in range(PULL):
                if polite and NewStreams.waiting and index % POLITE_EVERY == 0:
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
            last = encoder.finish()
            if last and not sink.cancelled:
                sink.push_threadsafe(last)
            self._close()
            return
        except Exception as exc:
            if not sink.cancelled:
                logger.exception("A streamed answer failed")
                sink.fail_threadsafe(exc, encoder.error(_message(exc)))
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
        frames = "".join([encoder.feed(value) for value in values] + [encoder.finish()])
        if frames:
            sink.push(frames)
        sink.finish()
        return sink.cancel

    return start


def already_started(sink: FrameSink) -> Callable[[], None]:
    """The producer of a stream whose thread is already pumping (see ``call_then_stream``)."""
    return sink.cancel


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
    executor.STREAMS.start(work, urgent=True)  # a new stream's first chunk goes before other streams' next turns
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


class _Frames:
    """The encoder of a producer whose items are frames already (e.g. durable streams replayed from a store)."""

    def feed(self, item: str) -> str:
        return item

    def finish(self) -> str:
        return ""

    def error(self, message: str) -> str:
        return ""


def from_frames(frames: AsyncIterator[str]) -> Producer:
    """Produce from an async iterator of ready frames, in a task of its own (cancelled when the client leaves)."""
    return from_async(frames, _Frames())
