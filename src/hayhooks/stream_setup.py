"""What a streaming generator runs: which components stream, how their callbacks are wired, and the hooks that
turn chunks into extra items (tool calls, reasoning, the pipeline's end). Used by ``hayhooks.streaming``.

Which pipeline components stream is chosen by the ``streaming_components`` argument, else the wrapper's (or YAML's)
``streaming_components`` setting, else ``HAYHOOKS_STREAMING_COMPONENTS``: empty means the last streaming-capable
component, ``all`` means every one, otherwise a comma-separated list of component names.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from haystack.dataclasses import ChatMessage, StreamingChunk

logger = logging.getLogger("hayhooks.streaming")

StreamingComponents = list[str] | Literal["all"] | None
CallbackReturn = Any  # an event, a string, None, or a list of events and strings
OnToolCallStart = Callable[[str, dict[str, Any], str | None], CallbackReturn] | None
OnToolCallEnd = Callable[[str, dict[str, Any], str, bool], CallbackReturn] | None
OnPipelineEnd = Callable[[Any], Any] | None
OnReasoning = Callable[[str, dict[str, Any] | None], CallbackReturn] | None


@functools.cache
def haystack_types() -> tuple[type[ChatMessage], type[StreamingChunk]]:
    """Haystack's ``ChatMessage`` and ``StreamingChunk``, imported on first use: importing Haystack is most of a
    bare server's startup time."""
    from haystack.dataclasses import ChatMessage, StreamingChunk

    return ChatMessage, StreamingChunk


def chunk_class() -> type[StreamingChunk]:
    return haystack_types()[1]


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


def default_spec() -> StreamingComponents:
    value = _default_components.get()
    if value is _UNSET:
        try:
            from hayhooks.settings import get_settings

            value = get_settings().streaming_components
        except Exception:  # a bad unrelated setting must not break streaming
            value = None
    return parse_streaming_components(value)


def accepts_streaming_callback(component: Any) -> bool:
    """Whether ``component`` takes a ``streaming_callback``: an input socket of that name (also on wrapper
    components whose ``run`` does not show it), or a ``run`` parameter."""
    sockets = getattr(component, "__haystack_input__", None)
    if sockets is not None:
        by_name = getattr(sockets, "_sockets_dict", None)
        try:
            if "streaming_callback" in (by_name if isinstance(by_name, dict) else sockets):
                return True
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
    found = [(component, name) for name, component in pipeline.walk() if accepts_streaming_callback(component)]
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
def is_pipeline(target: Any) -> bool:
    from haystack.core.pipeline.base import PipelineBase

    return isinstance(target, PipelineBase)


def check_target(target: Any) -> None:
    if is_pipeline(target) or accepts_streaming_callback(target):
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


def with_callbacks(pipeline: Any, data: dict[str, Any], callbacks: dict[str, Callable]) -> dict[str, Any]:
    configured = _nested_data(pipeline, data)
    for name, callback in callbacks.items():
        configured[name] = {**configured.get(name, {}), "streaming_callback": callback}
    return configured


def pipeline_kwargs(data: dict[str, Any], include_outputs_from: set[str] | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"data": data}
    if include_outputs_from is not None:
        kwargs["include_outputs_from"] = include_outputs_from
    return kwargs


def is_async_capable(component: Any) -> bool:
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


def _tool_arguments(raw: Any) -> dict[str, Any]:
    """A streamed tool call's arguments as a dict: its JSON text parsed, ``{}`` while it is empty or partial."""
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


@dataclass
class ChunkHooks:
    on_tool_call_start: OnToolCallStart = None
    on_tool_call_end: OnToolCallEnd = None
    on_reasoning: OnReasoning = None

    def __bool__(self) -> bool:
        return bool(self.on_tool_call_start or self.on_tool_call_end or self.on_reasoning)

    def items_before(self, chunk: Any) -> list[Any]:
        """What the callbacks return for ``chunk``; their errors are logged, never break the stream."""
        if not isinstance(chunk, chunk_class()):
            return []
        items: list[Any] = []
        try:
            if self.on_tool_call_start and chunk.tool_calls:
                for call in chunk.tool_calls:
                    if call.tool_name:
                        arguments = _tool_arguments(call.arguments)
                        items += _as_items(self.on_tool_call_start(call.tool_name, arguments, call.id))
            result = chunk.tool_call_result
            if self.on_tool_call_end and result is not None:
                origin, text = result.origin, _result_text(result.result)
                items += _as_items(self.on_tool_call_end(origin.tool_name, origin.arguments, text, bool(result.error)))
            if self.on_reasoning and chunk.reasoning is not None:
                items += _as_items(self.on_reasoning(chunk.reasoning.reasoning_text, chunk.reasoning.extra or None))
        except Exception:
            logger.exception("A streaming callback (on_tool_call_start/on_tool_call_end/on_reasoning) failed")
        return items


def pipeline_end_item(result: Any, on_pipeline_end: OnPipelineEnd) -> Any:
    if on_pipeline_end is None:
        return None
    try:
        value = on_pipeline_end(result)
    except Exception:
        logger.exception("on_pipeline_end callback failed")
        return None
    if isinstance(value, str):
        return chunk_class()(content=value) if value else None
    return value


# Hayhooks 2.1.0 names (``hayhooks.server.pipelines.utils``).
is_streaming_component = accepts_streaming_callback
parse_streaming_components_setting = parse_streaming_components
