"""Streaming: ``SSEStream`` for ``run_api`` and the generators that stream a running Haystack pipeline.

``streaming_generator`` (sync) and ``async_streaming_generator`` run a ``Pipeline``, an ``Agent`` or any component
whose ``run`` takes a ``streaming_callback``, and yield each ``StreamingChunk`` as soon as the component emits it.
Which pipeline components stream is chosen by the ``streaming_components`` argument, else the wrapper's (or YAML's)
``streaming_components`` setting, else ``HAYHOOKS_STREAMING_COMPONENTS``: empty means the last streaming-capable
component, ``all`` means every one, otherwise a comma-separated list of component names.

Stopping early is cheap: closing the generator (the server does it when a client disconnects) cancels an async
pipeline run, and makes a sync pipeline's thread stop at the next chunk it emits.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import json
import logging
import queue
import threading
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Generator, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from haystack.dataclasses import ChatMessage, StreamingChunk

logger = logging.getLogger("hayhooks.streaming")

StreamingComponents = list[str] | Literal["all"] | None
CallbackReturn = Any  # an event, a string, None, or a list of events and strings
OnToolCallStart = Callable[[str, str | None, str | None], CallbackReturn] | None
OnToolCallEnd = Callable[[str, dict[str, Any], str, bool], CallbackReturn] | None
OnPipelineEnd = Callable[[Any], Any] | None
OnReasoning = Callable[[str, dict[str, Any] | None], CallbackReturn] | None


@functools.cache
def haystack_types() -> tuple[type[ChatMessage], type[StreamingChunk]]:
    """Haystack's ``ChatMessage`` and ``StreamingChunk``, imported on first use: importing Haystack is most of a
    bare server's startup time."""
    from haystack.dataclasses import ChatMessage, StreamingChunk

    return ChatMessage, StreamingChunk


def _chunk_class() -> type[StreamingChunk]:
    return haystack_types()[1]


# --- run_api streaming --------------------------------------------------------------------------------------------
def chunk_text(item: Any) -> str:
    """The text a streamed item contributes: strings as is, ``StreamingChunk.content``, JSON for the rest."""
    if isinstance(item, str):
        return item
    if isinstance(item, _chunk_class()):
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


def sse_event(item: Any) -> str:
    text = chunk_text(item)
    return "".join(f"data: {line}\n" for line in text.split("\n")) + "\n"


# --- which components stream ----------------------------------------------------------------------------------------
_UNSET: Any = object()
_default_components: ContextVar[Any] = ContextVar("hayhooks_streaming_components", default=_UNSET)


def bind_streaming_defaults(value: str | list[str] | None) -> contextvars.Token:
    """Make ``value`` the default ``streaming_components`` for generators started in the current context.

    The server binds the deployed pipeline's setting (or the server-wide one) before calling a wrapper method.
    """
    return _default_components.set(value)


def parse_streaming_components(value: str | list[str] | None) -> StreamingComponents:
    """``None``/``""`` -> ``None`` (last capable component), ``"all"`` -> ``"all"``, ``"a, b"`` -> ``["a", "b"]``."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "all":
            return "all"
        names = [part.strip() for part in text.split(",") if part.strip()]
    else:
        names = [str(part).strip() for part in value if str(part).strip()]
        if len(names) == 1 and names[0].lower() == "all":
            return "all"
    return names or None


def _default_spec() -> StreamingComponents:
    value = _default_components.get()
    if value is _UNSET:
        try:
            from hayhooks.settings import get_settings

            value = get_settings().streaming_components
        except Exception:  # a bad unrelated setting must not break streaming
            value = None
    return parse_streaming_components(value)


def _accepts_streaming_callback(component: Any) -> bool:
    sockets = getattr(component, "__haystack_input__", None)
    if sockets is not None:
        try:
            return "streaming_callback" in sockets
        except TypeError:
            pass
    run = getattr(component, "run", None)
    if not callable(run):
        return False
    try:
        return "streaming_callback" in inspect.signature(run).parameters
    except (TypeError, ValueError):
        return False


def find_all_streaming_components(pipeline: Any) -> list[tuple[Any, str]]:
    """``(component, name)`` of every component whose ``run`` accepts a ``streaming_callback``, in pipeline order."""
    found = [(component, name) for name, component in pipeline.walk() if _accepts_streaming_callback(component)]
    if not found:
        raise ValueError("No streaming-capable components found in the pipeline")
    return found


def select_streaming_components(pipeline: Any, spec: StreamingComponents) -> list[tuple[Any, str]]:
    capable = find_all_streaming_components(pipeline)
    if spec is None:
        return capable[-1:]
    if spec == "all":
        return capable
    wanted = set(spec)
    chosen = [(component, name) for component, name in capable if name in wanted]
    missing = wanted - {name for _, name in chosen}
    if missing:
        logger.warning("streaming_components names no streaming-capable component: %s", ", ".join(sorted(missing)))
    return chosen


# --- what to run ----------------------------------------------------------------------------------------------------
def _is_pipeline(target: Any) -> bool:
    from haystack.core.pipeline.base import PipelineBase

    return isinstance(target, PipelineBase)


def _check_target(target: Any) -> None:
    if _is_pipeline(target) or _accepts_streaming_callback(target):
        return
    raise ValueError(
        f"Unsupported pipeline type: {type(target).__name__}. Pass a Haystack Pipeline, an Agent, or a component "
        "whose run() accepts a streaming_callback."
    )


def _nested_data(pipeline: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Pipeline inputs keyed by component, so callbacks can be added next to them (flat inputs are distributed)."""
    if data and not all(isinstance(value, dict) for value in data.values()):
        prepare = getattr(pipeline, "_prepare_component_input_data", None)
        if prepare is not None:
            return dict(prepare(data))
    return dict(data)


def _with_callbacks(pipeline: Any, data: dict[str, Any], callbacks: dict[str, Callable]) -> dict[str, Any]:
    configured = _nested_data(pipeline, data)
    for name, callback in callbacks.items():
        configured[name] = {**configured.get(name, {}), "streaming_callback": callback}
    return configured


def _pipeline_kwargs(data: dict[str, Any], include_outputs_from: set[str] | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"data": data}
    if include_outputs_from is not None:
        kwargs["include_outputs_from"] = include_outputs_from
    return kwargs


def _is_async_capable(component: Any) -> bool:
    return callable(getattr(component, "run_async", None))


# --- callbacks on chunks --------------------------------------------------------------------------------------------
def _as_items(result: Any) -> list[Any]:
    if not result:
        return []
    return list(result) if isinstance(result, list) else [result]


def _result_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, list):
        return "".join(getattr(part, "text", None) or str(part) for part in result)
    return str(result)


@dataclass
class _ChunkHooks:
    on_tool_call_start: OnToolCallStart = None
    on_tool_call_end: OnToolCallEnd = None
    on_reasoning: OnReasoning = None

    def __bool__(self) -> bool:
        return bool(self.on_tool_call_start or self.on_tool_call_end or self.on_reasoning)

    def items_before(self, chunk: Any) -> list[Any]:
        """What the callbacks return for ``chunk``; their errors are logged, never break the stream."""
        if not isinstance(chunk, _chunk_class()):
            return []
        items: list[Any] = []
        try:
            if self.on_tool_call_start and chunk.tool_calls:
                for call in chunk.tool_calls:
                    if call.tool_name:
                        items += _as_items(self.on_tool_call_start(call.tool_name, call.arguments, call.id))
            result = chunk.tool_call_result
            if self.on_tool_call_end and result is not None:
                origin, text = result.origin, _result_text(result.result)
                items += _as_items(self.on_tool_call_end(origin.tool_name, origin.arguments, text, bool(result.error)))
            if self.on_reasoning and chunk.reasoning is not None:
                items += _as_items(self.on_reasoning(chunk.reasoning.reasoning_text, chunk.reasoning.extra or None))
        except Exception:
            logger.exception("A streaming callback (on_tool_call_start/on_tool_call_end/on_reasoning) failed")
        return items


def _pipeline_end_item(result: Any, on_pipeline_end: OnPipelineEnd) -> Any:
    if on_pipeline_end is None:
        return None
    try:
        value = on_pipeline_end(result)
    except Exception:
        logger.exception("on_pipeline_end callback failed")
        return None
    if isinstance(value, str):
        return _chunk_class()(content=value) if value else None
    return value


# --- sync -----------------------------------------------------------------------------------------------------------
class StreamCancelled(Exception):
    """Raised inside a pipeline's streaming callback once nobody reads the stream any more."""


_END: Any = object()


@dataclass
class _Failure:
    error: BaseException


def _sync_run_args(target: Any, args: dict[str, Any], callback: Callable, spec: StreamingComponents) -> dict[str, Any]:
    if not _is_pipeline(target):
        return {**args, "streaming_callback": callback}
    names = [name for _, name in select_streaming_components(target, spec)]
    return _with_callbacks(target, args, dict.fromkeys(names, callback))


def _run_sync_target(target: Any, args: dict[str, Any], include_outputs_from: set[str] | None) -> Any:
    if _is_pipeline(target):
        return target.run(**_pipeline_kwargs(args, include_outputs_from))
    return target.run(**args)


def streaming_generator(  # noqa: PLR0913
    pipeline: Any,
    *,
    pipeline_run_args: dict[str, Any] | None = None,
    on_tool_call_start: OnToolCallStart = None,
    on_tool_call_end: OnToolCallEnd = None,
    on_pipeline_end: OnPipelineEnd = None,
    on_reasoning: OnReasoning = None,
    streaming_components: StreamingComponents | str = None,
    include_outputs_from: set[str] | None = None,
) -> Generator[Any, None, None]:
    """Run ``pipeline`` on a thread and yield its ``StreamingChunk``s as the streaming components emit them.

    ``pipeline`` is a Haystack ``Pipeline``, an ``Agent`` or a component whose ``run`` accepts a
    ``streaming_callback``. Callback results (events or strings) are yielded just before the chunk that triggered
    them; ``on_pipeline_end(result)`` may return a last string to stream. Pipeline errors are raised here.
    Closing the generator early makes the pipeline stop at the next chunk it emits.
    """
    _check_target(pipeline)
    spec = parse_streaming_components(streaming_components) if streaming_components is not None else _default_spec()
    channel: queue.SimpleQueue[Any] = queue.SimpleQueue()
    stopped = threading.Event()
    hooks = _ChunkHooks(on_tool_call_start, on_tool_call_end, on_reasoning)

    def callback(chunk: StreamingChunk) -> None:
        if stopped.is_set():
            raise StreamCancelled("The stream was closed by its reader.")
        channel.put(chunk)

    run_args = _sync_run_args(pipeline, dict(pipeline_run_args or {}), callback, spec)

    def run() -> None:
        try:
            result = _run_sync_target(pipeline, run_args, include_outputs_from)
            last = _pipeline_end_item(result, on_pipeline_end)
            if last is not None:
                channel.put(last)
            channel.put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the reader
            channel.put(_Failure(exc))

    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(run,), name="hayhooks-stream", daemon=True)
    thread.start()
    try:
        while True:
            item = channel.get()
            if item is _END:
                break
            if type(item) is _Failure:
                raise item.error
            if hooks:
                yield from hooks.items_before(item)
            yield item
    finally:
        stopped.set()


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
        if _is_async_capable(component):
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
) -> asyncio.Task:
    if _is_pipeline(target):
        if callable(getattr(target, "run_async", None)):
            return asyncio.ensure_future(target.run_async(**_pipeline_kwargs(args, include_outputs_from)))
        return asyncio.ensure_future(asyncio.to_thread(target.run, **_pipeline_kwargs(args, include_outputs_from)))
    if _is_async_capable(target):
        return asyncio.ensure_future(target.run_async(**args, streaming_callback=async_cb))
    return asyncio.ensure_future(asyncio.to_thread(target.run, **args, streaming_callback=sync_cb))


def _consume_outcome(task: asyncio.Task) -> None:
    if not task.cancelled():
        task.exception()  # marks it retrieved: the reader already saw it, or nobody reads any more


async def async_streaming_generator(  # noqa: PLR0913
    pipeline: Any,
    *,
    pipeline_run_args: dict[str, Any] | None = None,
    on_tool_call_start: OnToolCallStart = None,
    on_tool_call_end: OnToolCallEnd = None,
    on_pipeline_end: OnPipelineEnd = None,
    on_reasoning: OnReasoning = None,
    streaming_components: StreamingComponents | str = None,
    include_outputs_from: set[str] | None = None,
    allow_sync_streaming_callbacks: bool | Literal["auto"] = False,
) -> AsyncGenerator[Any, None]:
    """Async version of ``streaming_generator``: runs the pipeline as a task on the current event loop.

    Streaming components need ``run_async`` (they get an async callback). Components with only a sync ``run``
    are rejected unless ``allow_sync_streaming_callbacks`` is ``True`` or ``"auto"``: they then run on a thread
    and hand chunks over thread-safely. Closing the generator early cancels the pipeline task.
    """
    _check_target(pipeline)
    spec = parse_streaming_components(streaming_components) if streaming_components is not None else _default_spec()
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[Any] = asyncio.Queue()
    stopped = threading.Event()
    hooks = _ChunkHooks(on_tool_call_start, on_tool_call_end, on_reasoning)

    async def async_cb(chunk: StreamingChunk) -> None:
        chunks.put_nowait(chunk)

    sync_cb = _threadsafe_put(loop, chunks, stopped)
    args = dict(pipeline_run_args or {})
    if _is_pipeline(pipeline):
        has_async_run = callable(getattr(pipeline, "run_async", None))
        allow = allow_sync_streaming_callbacks if has_async_run else True
        callbacks = _async_callbacks(pipeline, spec, allow, async_cb if has_async_run else sync_cb, sync_cb)
        args = _with_callbacks(pipeline, args, callbacks)
    task = _start_async_run(pipeline, args, include_outputs_from, async_cb, sync_cb)
    task.add_done_callback(lambda _: chunks.put_nowait(_END))
    try:
        while True:
            item = await chunks.get()
            if item is _END:
                break
            if hooks:
                for extra in hooks.items_before(item):
                    yield extra
            yield item
        last = _pipeline_end_item(task.result(), on_pipeline_end)
        if last is not None:
            yield last
    finally:
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
    "parse_streaming_components",
    "select_streaming_components",
    "sse_event",
    "streaming_generator",
]
