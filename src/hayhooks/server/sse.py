"""The one streaming response: frames sent as they are produced, the producer stopped when the client goes away.

Every stream the server sends goes through ``StreamResponse``: ``/run`` streams (SSE or plain text), chat
completion chunks and Responses events. A producer (``hayhooks.server.sse_producers``) encodes a wrapper's items
into frames (``hayhooks.server.frames``) and pushes them into a ``FrameSink``: an asyncio task for an async
generator, turns on the executor's stream lane for a sync one. The response coroutine sends
the waiting frames, at most ``SLICE`` per write, and lets other streams and requests go between writes, so many
fast streams interleave instead of one running to its end while the next one waits for its first chunk. A
producer that gets ``HIGH_WATER`` frames ahead pauses until the sender is down to ``LOW_WATER``. A second task
watches for ``http.disconnect``: the sink is then cancelled, the producer task is cancelled (closing the
wrapper's async generator), and a sync producer stops before its next item and closes the generator.

Failures: the response headers go out with the first frames, so a stream that fails before producing anything
is answered with an error status (``on_error`` builds that response: ``{"detail": ...}`` for ``/run``, OpenAI's
error shape for OpenAI routes). A failure midway ends the stream with the encoder's error frame (an ``event:
error`` for ``/run`` SSE, an error object then ``[DONE]`` for chat completions, ``error`` + ``response.failed`` for
Responses); a plain-text stream has no error form, so it is cut off without its final chunk, which HTTP clients
report as an incomplete body.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

logger = logging.getLogger("hayhooks.openai")

HIGH_WATER = 64  # frames waiting to be sent before the producer pauses (the first frame is sent on its own)
LOW_WATER = 16  # a paused producer resumes when this few frames are left
SLICE = 64  # frames per write: then the stream lets every other ready stream and request have its turn


class NewStreams:
    """Streams waiting for their first chunk. Changed on the event loop only; read by stream threads."""

    waiting = 0


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
        self.failure: BaseException | None = None  # the producer's error, and the frame that reports it midway
        self.failure_frame = ""
        self._first_pending = False

    def await_first_chunk(self) -> None:
        """Count this stream among the new ones until its first frames are sent (or it ends)."""
        if not self._first_pending:
            self._first_pending = True
            NewStreams.waiting += 1

    def first_chunk_done(self) -> None:
        if self._first_pending:
            self._first_pending = False
            NewStreams.waiting -= 1

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

    def fail(self, error: BaseException, frame: str) -> None:
        """The producer failed: the response reports ``error`` (see the module docstring) and ends."""
        self.failure, self.failure_frame = error, frame
        self.finish()

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

    def fail_threadsafe(self, error: BaseException, frame: str) -> None:
        self.failure, self.failure_frame = error, frame
        self.finish_threadsafe()

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


# --- response ---------------------------------------------------------------------------------------------------
Producer = Callable[[FrameSink], Callable[[], None]]  # starts producing into the sink; returns how to stop it


class StreamResponse(Response):
    """A streamed response fed by a producer; stops the producer when the client disconnects.

    ``opening`` is sent before the first frame; ``on_error(exc)`` answers a stream that failed before its first
    frame (without it, the failure frame is sent in a 200 response).
    """

    def __init__(
        self,
        producer: Producer,
        sink: FrameSink | None = None,
        opening: str = "",
        on_close: Callable[[], Awaitable[None]] | None = None,
        headers: dict[str, str] | None = None,
        media_type: str = "text/event-stream",
        on_error: Callable[[BaseException], Response] | None = None,
    ) -> None:
        self.status_code = 200
        self.background = None
        self.media_type = media_type
        self.producer = producer
        self.sink = sink
        self.opening = opening
        self.on_close = on_close
        self.on_error = on_error
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._stream(scope, receive, send)
        finally:
            if self.on_close is not None:
                await self.on_close()

    async def _start(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if self.opening:
            await send({"type": "http.response.body", "body": self.opening.encode("utf-8"), "more_body": True})

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        sink = self.sink or FrameSink(asyncio.get_running_loop())
        watcher = asyncio.ensure_future(_watch_disconnect(receive, sink))
        stop = self.producer(sink)
        started = False
        try:
            while (batch := await sink.next_batch()) is not None:
                if not started:
                    await self._start(send)
                    started = True
                await send({"type": "http.response.body", "body": batch.encode("utf-8", "replace"), "more_body": True})
                if sink.has_frames():  # a fast producer: take turns with the other streams and new requests
                    await asyncio.sleep(0)
            if sink.cancelled:
                return
            if sink.failure is not None:
                if not started and self.on_error is not None:
                    await self.on_error(sink.failure)(scope, receive, send)
                    return
                if not sink.failure_frame:
                    if started:
                        return  # no error form (plain text): end without the final chunk, the client sees a cut
                elif not started:
                    await self._start(send)
                    started = True
                if sink.failure_frame:
                    body = sink.failure_frame.encode("utf-8", "replace")
                    await send({"type": "http.response.body", "body": body, "more_body": True})
            if not started:
                await self._start(send)
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


__all__ = ["FrameSink", "NewStreams", "Producer", "StreamResponse"]
