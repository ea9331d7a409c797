"""``coerce_pipeline_inputs``: turn JSON-shaped request data into the types a pipeline's inputs declare.

A request body carries plain JSON; a pipeline input may want a ``ChatMessage``, a ``Document`` or a list of
them. Values whose target type is coercible are built from their dicts, inside lists, tuples, dicts and
``Optional``/unions too; everything else passes through unchanged. A class is coercible when it has ``from_dict``
(Haystack's dataclasses), is a pydantic model or is a standard-library dataclass. A union with more than one
coercible class (``GeneratedAnswer | ExtractedAnswer``) cannot tell from a dict which one is meant: coercing a
dict against it raises ``ValueError``.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping, Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter


def _is_union(target: Any) -> bool:
    origin = get_origin(target)
    return origin is typing.Union or (origin is not None and type(target).__name__ == "UnionType")


def _is_coercible(target: Any) -> bool:
    if not isinstance(target, type):
        return False
    return (
        callable(getattr(target, "from_dict", None))
        or issubclass(target, BaseModel)
        or dataclasses.is_dataclass(target)
    )


def _coercible_classes(target: Any) -> set[type]:
    """The coercible classes a value of type ``target`` (``T``, a sequence of ``T``, or unions of those) may be."""
    origin = get_origin(target)
    if origin is typing.Annotated:
        return _coercible_classes(get_args(target)[0])
    if _is_union(target):
        return set().union(*(_coercible_classes(option) for option in get_args(target)))
    if origin is not None and isinstance(origin, type) and issubclass(origin, Sequence) and get_args(target):
        return _coercible_classes(get_args(target)[0])
    return {target} if _is_coercible(target) else set()


def _carries_dicts(value: Any) -> bool:
    return isinstance(value, dict) or (isinstance(value, list) and any(isinstance(item, dict) for item in value))


def _build(value: dict[str, Any], target: type) -> Any:
    from_dict = getattr(target, "from_dict", None)
    if callable(from_dict):
        return from_dict(value)
    return TypeAdapter(target).validate_python(value)


def _convert(value: Any, target: Any) -> Any:
    if value is None or target is Any:
        return value
    origin = get_origin(target)
    if origin is typing.Annotated:
        return _convert(value, get_args(target)[0])
    if _is_union(target):
        classes = _coercible_classes(target)
        if len(classes) > 1 and _carries_dicts(value):
            names = ", ".join(sorted(cls.__name__ for cls in classes))
            raise ValueError(
                f"Cannot coerce input for type '{target}': it has multiple deserializable members ({names}), "
                "and a dict does not say which one it is. Pass an instance instead."
            )
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
    if _is_coercible(target) and isinstance(value, dict):
        return _build(value, target)
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
