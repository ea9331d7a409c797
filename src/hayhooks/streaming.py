"""Streaming: ``SSEStream`` for ``run_api`` and the generators that stream a running Haystack pipeline.

``streaming_generator`` (sync) and ``async_streaming_generator`` run a ``Pipeline``, an ``Agent`` or any component
whose ``run`` takes a ``streaming_callback``, and yield each ``StreamingChunk`` as soon as the component emits it.
Which components stream is described in ``hayhooks.stream_setup``. Both accept an ``external_event_queue``
whose items (events, strings, dicts, chunks) are yielded, as they arrive, between the pipeline's chunks.

Stopping early is cheap: closing the generator (the server does it when a client disconnects) cancels an async
pipeline run (unless ``shield_pipeline_task=True``), and makes a sync pipeline stop at the next chunk it emits.
Sync pipelines run on the worker threads of ``hayhooks.executor``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from hayhooks import executor
from hayhooks.stream_setup import (
    ChunkHooks,
    OnPipelineEnd,
    OnReasoning,
    OnToolCallEnd,
    OnToolCallStart,
    StreamingComponents,
    bind_streaming_defaults,
    check_target,
    chunk_class,
    default_spec,
    find_all_streaming_components,
    haystack_types,
    is_async_capable,
    is_pipeline,
    parse_streaming_components,
    pipeline_end_item,
    pipeline_kwargs,
    select_streaming_components,
    with_callbacks,
)

if TYPE_CHECKING:
    from haystack.dataclasses import StreamingChunk

logger = logging.getLogger("hayhooks.streaming")


# --- run_api streaming --------------------------------------------------------------------------------------------
def chunk_text(item: Any) -> str:
    """The text a streamed item contributes: strings as is, ``StreamingChunk.content``, JSON for the rest."""
    if isinstance(item, str):
        return item
    if isinstance(item, chunk_class()):
        return item.content or ""
    if isinstance(item, bytes):
        return item.decode("utf-8", errors="replace")
    if item is None:
        return ""
    try:
        return json.dumps(item, default=str)
    except (TypeError, ValueError):
        return str(item)


@dataclass
class SSEStream:
    """Return ``SSEStream(generator)`` from ``run_api`` to stream Server-Sent Events instead of plain text.

    Each item becomes one ``data:`` event: strings as they are, ``StreamingChunk`` by its content, dicts and
    other values as JSON.
    """

    stream: Iterable[Any] | AsyncIterable[Any]

    def __iter__(self) -> Iterator[Any]:
        if not isinstance(self.stream, Iterable):
            raise TypeError("This SSEStream wraps an async generator; iterate it with 'async for'.")
        return iter(self.stream)

    def __aiter__(self) -> AsyncIterator[Any]:
        if isinstance(self.stream, AsyncIterable):
            return self.stream.__aiter__()
        raise TypeError("This SSEStream wraps a sync generator; iterate it with 'for'.")


# --- sync -----------------------------------------------------------------------------------------------------------
class StreamCancelled(Exception):
    """Raised inside a pipeline's streaming callback once nobody reads the stream any more."""


_END: Any = object()
_FORWARDED: Any = object()  # the external queue's forwarder has stopped


@dataclass
class _Failure:
    error: BaseException


@dataclass
class _External:
    """An item of the external event queue: yielded as it is, without the chunk hooks."""

    item: Any


def _sync_run_args(target: Any, args: dict[str, Any], callback: Callable, spec: StreamingComponents) -> dict[str, Any]:
    if not is_pipeline(target):
        return {**args, "streaming_callback": callback}
    names = [name for _, name in select_streaming_components(target, spec)]
    return with_callbacks(target, args, dict.fromkeys(names, callback))


def _run_sync_target(target: Any, args: dict[str, Any], include_outputs_from: set[str] | None) -> Any:
    if is_pipeline(target):
        return target.run(**pipeline_kwargs(args, include_outputs_from))
    return target.run(**args)


_POLL = 0.05  # seconds between the forwarder's checks that the stream still runs


def _forward_external(external: queue.Queue, channel: queue.SimpleQueue, done: threading.Event) -> None:
    """Move the external queue's items into the stream's channel until the pipeline has ended."""
    try:
        while not done.is_set():
            try:
                channel.put(_External(external.get(timeout=_POLL)))
            except queue.Empty:
                pass
    except Exception:
        logger.exception("Reading the external_event_queue failed; its events are no longer streamed")
    finally:
        channel.put(_FORWARDED)


def _drain(external: queue.Queue | asyncio.Queue) -> Iterator[Any]:
    """Items still in the external queue once the pipeline has ended (put there before the end, so not lost)."""
    while True:
        try:
            yield external.get_nowait()
        except (queue.Empty, asyncio.QueueEmpty):
            return


def streaming_generator(  # noqa: PLR0913
    pipeline: Any,
    *,
    pipeline_run_args: dict[str, Any] | None = None,
    on_tool_call_start: OnToolCallStart = None,
    on_tool_call_end: OnToolCallEnd = None,
    on_reasoning: OnReasoning = None,
    on_pipeline_end: OnPipelineEnd = None,
    streaming_components: StreamingComponents | str = None,
    include_outputs_from: set[str] | None = None,
    external_event_queue: queue.Queue[Any] | None = None,
) -> Generator[Any, None, None]:
    """Run ``pipeline`` on a worker thread and yield its ``StreamingChunk``s as the streaming components emit them.

    ``pipeline`` is a Haystack ``Pipeline``, an ``Agent`` or a component whose ``run`` accepts a
    ``streaming_callback``. Callback results (events or strings) are yielded just before the chunk that triggered
    them; ``on_pipeline_end(result)`` may return a last string to stream. Items put on ``external_event_queue``
    (a ``queue.Queue``, fed from any thread) are yielded as they arrive, unchanged: those queued before the stream
    starts come first, those still queued when the pipeline ends before the generator ends. Pipeline errors are
    raised here. Closing the generator early makes the pipeline stop at the next chunk it emits.
    """
    check_target(pipeline)
    spec = parse_streaming_components(streaming_components) if streaming_components is not None else default_spec()
    channel: queue.SimpleQueue[Any] = queue.SimpleQueue()
    stopped = threading.Event()
    ended = threading.Event()
    hooks = ChunkHooks(on_tool_call_start, on_tool_call_end, on_reasoning)

    def callback(chunk: StreamingChunk) -> None:
        if stopped.is_set():
            raise StreamCancelled("The stream was closed by its reader.")
        channel.put(chunk)

    run_args = _sync_run_args(pipeline, dict(pipeline_run_args or {}), callback, spec)

    def run() -> None:
        try:
            result = _run_sync_target(pipeline, run_args, include_outputs_from)
            last = pipeline_end_item(result, on_pipeline_end)
            if last is not None:
                channel.put(last)
            channel.put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the reader
            channel.put(_Failure(exc))
        finally:
            ended.set()

    if external_event_queue is not None:
        yield from _drain(external_event_queue)  # queued before the stream started: first, in their order
    executor.submit(run)
    if external_event_queue is not None:
        executor.submit(_forward_external, external_event_queue, channel, ended)
    forwarding = external_event_queue is not None
    finished = False
    try:
        while True:
            item = channel.get()
            if item is _END:
                finished = True
                if not forwarding:
                    break
            elif item is _FORWARDED:
                forwarding = False
                if finished:
                    break
            elif type(item) is _External:
                yield item.item
            elif type(item) is _Failure:
                raise item.error
            else:
                if hooks:
                    yield from hooks.items_before(item)
                yield item
        if external_event_queue is not None:
            yield from _drain(external_event_queue)
    finally:
        stopped.set()
        ended.set()


# --- async ----------------------------------------------------------------------------------------------------------
def _threadsafe_put(loop: asyncio.AbstractEventLoop, q: asyncio.Queue, stopped: threading.Event) -> Callable:
    loop_thread = threading.get_ident()

    def callback(chunk: StreamingChunk) -> None:
        if stopped.is_set():
            raise StreamCancelled("The stream was closed by its reader.")
        if threading.get_ident() == loop_thread:
            q.put_nowait(chunk)
        else:
            loop.call_soon_threadsafe(q.put_nowait, chunk)

    return callback


def _async_callbacks(
    pipeline: Any, spec: StreamingComponents, allow_sync: bool | str, async_cb: Callable, sync_cb: Callable
) -> dict[str, Callable]:
    callbacks: dict[str, Callable] = {}
    for component, name in select_streaming_components(pipeline, spec):
        if is_async_capable(component):
            callbacks[name] = async_cb
        elif allow_sync:
            callbacks[name] = sync_cb
        else:
            raise ValueError(
                f"Component '{name}' ({type(component).__name__}) has no run_async, so it cannot take an async "
                "streaming callback. Use streaming_generator, pick a component with run_async (e.g. "
                "OpenAIChatGenerator), or pass allow_sync_streaming_callbacks=True (or 'auto')."
            )
    return callbacks


def _start_async_run(
    target: Any, args: dict[str, Any], include_outputs_from: set[str] | None, async_cb: Callable, sync_cb: Callable
) -> asyncio.Future:
    if is_pipeline(target):
        if callable(getattr(target, "run_async", None)):
            return asyncio.ensure_future(target.run_async(**pipeline_kwargs(args, include_outputs_from)))
        return asyncio.ensure_future(executor.run(target.run, **pipeline_kwargs(args, include_outputs_from)))
    if is_async_capable(target):
        return asyncio.ensure_future(target.run_async(**args, streaming_callback=async_cb))
    return asyncio.ensure_future(executor.run(target.run, **args, streaming_callback=sync_cb))


def _consume_outcome(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()  # marks it retrieved: the reader already saw it, or nobody reads any more


_SHIELDED: set[asyncio.Future] = set()  # pipeline tasks left running by a closed stream, referenced until done


async def _forward_external_async(external: asyncio.Queue, chunks: asyncio.Queue) -> None:
    while True:
        chunks.put_nowait(_External(await external.get()))


async def async_streaming_generator(  # noqa: PLR0913
    pipeline: Any,
    *,
    pipeline_run_args: dict[str, Any] | None = None,
    on_tool_call_start: OnToolCallStart = None,
    on_tool_call_end: OnToolCallEnd = None,
    on_reasoning: OnReasoning = None,
    on_pipeline_end: OnPipelineEnd = None,
    streaming_components: StreamingComponents | str = None,
    include_outputs_from: set[str] | None = None,
    allow_sync_streaming_callbacks: bool | Literal["auto"] = False,
    external_event_queue: asyncio.Queue[Any] | None = None,
    shield_pipeline_task: bool = False,
) -> AsyncGenerator[Any, None]:
    """Async version of ``streaming_generator``: runs the pipeline as a task on the current event loop.

    Streaming components need ``run_async`` (they get an async callback). Components with only a sync ``run``
    are rejected unless ``allow_sync_streaming_callbacks`` is ``True`` or ``"auto"``: they then run on a worker
    thread and hand chunks over thread-safely. ``external_event_queue`` (an ``asyncio.Queue``) works as in
    ``streaming_generator``. Closing the generator early (or cancelling its consumer) cancels the pipeline task,
    unless ``shield_pipeline_task=True``: the pipeline then runs to its end, its further chunks unread.
    """
    check_target(pipeline)
    spec = parse_streaming_components(streaming_components) if streaming_components is not None else default_spec()
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[Any] = asyncio.Queue()
    stopped = threading.Event()
    hooks = ChunkHooks(on_tool_call_start, on_tool_call_end, on_reasoning)

    async def async_cb(chunk: StreamingChunk) -> None:
        chunks.put_nowait(chunk)

    sync_cb = _threadsafe_put(loop, chunks, stopped)
    args = dict(pipeline_run_args or {})
    if is_pipeline(pipeline):
        has_async_run = callable(getattr(pipeline, "run_async", None))
        allow = allow_sync_streaming_callbacks if has_async_run else True
        callbacks = _async_callbacks(pipeline, spec, allow, async_cb if has_async_run else sync_cb, sync_cb)
        args = with_callbacks(pipeline, args, callbacks)
    if external_event_queue is not None:
        for queued in _drain(external_event_queue):  # queued before the stream started: first, in their order
            yield queued
    task = _start_async_run(pipeline, args, include_outputs_from, async_cb, sync_cb)
    task.add_done_callback(lambda _: chunks.put_nowait(_END))
    forwarder = None
    if external_event_queue is not None:
        forwarder = asyncio.ensure_future(_forward_external_async(external_event_queue, chunks))
    try:
        while True:
            item = await chunks.get()
            if item is _END:
                break
            if type(item) is _External:
                yield item.item
                continue
            if hooks:
                for extra in hooks.items_before(item):
                    yield extra
            yield item
        if forwarder is not None:
            forwarder.cancel()
        for item in _drain(chunks):  # forwarded just before the end
            if type(item) is _External:
                yield item.item
        last = pipeline_end_item(task.result(), on_pipeline_end)
        if last is not None:
            yield last
        if external_event_queue is not None:
            for item in _drain(external_event_queue):
                yield item
    finally:
        if forwarder is not None:
            forwarder.cancel()
        if shield_pipeline_task and not task.done():
            _SHIELDED.add(task)
            task.add_done_callback(_SHIELDED.discard)
        else:
            stopped.set()
            if not task.done():
                task.cancel()
        task.add_done_callback(_consume_outcome)


__all__ = [
    "OnPipelineEnd",
    "OnReasoning",
    "OnToolCallEnd",
    "OnToolCallStart",
    "SSEStream",
    "StreamCancelled",
    "async_streaming_generator",
    "bind_streaming_defaults",
    "chunk_text",
    "find_all_streaming_components",
    "haystack_types",
    "parse_streaming_components",
    "select_streaming_components",
    "streaming_generator",
]
