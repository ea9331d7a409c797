"""``coerce_pipeline_inputs``: turn JSON-shaped request data into the types a pipeline's inputs declare.

A request body carries plain JSON; a pipeline input may want a ``ChatMessage``, a ``Document`` or a list of
them. Values whose target type has ``from_dict`` (Haystack's dataclasses) are built from their dicts, inside
lists, tuples, dicts and ``Optional``/unions too; everything else passes through unchanged.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from typing import Any, get_args, get_origin


def _convert(value: Any, target: Any) -> Any:
    if value is None or target is Any:
        return value
    origin = get_origin(target)
    if origin is typing.Annotated:
        return _convert(value, get_args(target)[0])
    if origin is typing.Union or (origin is not None and type(target).__name__ == "UnionType"):
        for option in get_args(target):
            if option is type(None):
                continue
            converted = _convert(value, option)
            if converted is not value:
                return converted
        return value
    if origin is not None and isinstance(origin, type):
        args = get_args(target)
        if issubclass(origin, Mapping) and isinstance(value, dict) and len(args) == 2:
            return {key: _convert(item, args[1]) for key, item in value.items()}
        if issubclass(origin, Sequence) and isinstance(value, list) and args:
            converted = [_convert(item, args[0]) for item in value]
            return tuple(converted) if issubclass(origin, tuple) else converted
        return value
    from_dict = getattr(target, "from_dict", None)
    if isinstance(target, type) and callable(from_dict) and isinstance(value, dict):
        return from_dict(value)
    return value


def _socket_types(pipeline: Any) -> dict[str, dict[str, Any]]:
    try:
        described = pipeline.inputs(include_components_with_connected_inputs=True)
    except TypeError:
        described = pipeline.inputs()
    return {
        component: {socket: info.get("type", Any) for socket, info in sockets.items()}
        for component, sockets in described.items()
    }


def coerce_pipeline_inputs(pipeline: Any, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its values converted to the pipeline's input types.

    ``data`` is either nested (``{"component": {"input": value}}``) or flat (``{"input": value}``, every
    component with an input of that name), as ``Pipeline.run`` accepts it. Returns a new dict.
    """
    types_by_component = _socket_types(pipeline)
    result: dict[str, Any] = {}
    for key, value in data.items():
        sockets = types_by_component.get(key)
        if sockets is not None and isinstance(value, dict):
            result[key] = {name: _convert(item, sockets.get(name, Any)) for name, item in value.items()}
            continue
        target = next((s[key] for s in types_by_component.values() if key in s), Any)
        result[key] = _convert(value, target)
    return result


__all__ = ["coerce_pipeline_inputs"]
