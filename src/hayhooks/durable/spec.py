"""What a durable wrapper declares, read once at deploy time: revision, request/result/resume models, runner."""

from __future__ import annotations

import inspect
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter

DURABLE_METHODS = ("run_durable", "run_durable_async")


class DurableSpecError(ValueError):
    """A wrapper declares durable execution incompletely or inconsistently."""


@dataclass(frozen=True)
class DurableSpec:
    revision: str
    request_model: type[BaseModel]
    result_adapter: TypeAdapter
    resume_model: type[BaseModel] | None
    runner: Callable[..., Any]
    is_async: bool
    kind: str
    owner_id: Callable[[Any], str] | None
    target: Any
    deployed_at: float = 0.0  # when this process deployed this version (epoch seconds)

    def dump_result(self, value: Any) -> Any:
        return self.result_adapter.dump_python(value, mode="json")


def _overrides(wrapper: Any, name: str) -> bool:
    from hayhooks.wrapper import BasePipelineWrapper

    method = getattr(type(wrapper), name, None)
    base = getattr(BasePipelineWrapper, name, None)
    return method is not None and method is not base


def is_durable(wrapper: Any) -> bool:
    return any(_overrides(wrapper, name) for name in DURABLE_METHODS)


def _kind(target: Any) -> str:
    try:
        from haystack.components.agents import Agent

        if isinstance(target, Agent):
            return "agent"
    except ImportError:  # pragma: no cover - haystack is a dependency
        pass
    return "pipeline"


def build_spec(wrapper: Any) -> DurableSpec:
    """Inspect a durable wrapper; ``DurableSpecError`` says what is missing."""
    is_async = _overrides(wrapper, "run_durable_async")
    if is_async and _overrides(wrapper, "run_durable"):
        raise DurableSpecError("define run_durable or run_durable_async, not both")
    runner = getattr(wrapper, "run_durable_async" if is_async else "run_durable")
    revision = getattr(wrapper, "durable_revision", None)
    if not isinstance(revision, str) or not revision.strip():
        raise DurableSpecError("a durable wrapper needs `durable_revision = '...'` (a non-empty string)")
    if is_async != inspect.iscoroutinefunction(runner):
        raise DurableSpecError("run_durable_async must be `async def`, run_durable a plain `def`")
    hints = typing.get_type_hints(runner)
    params = [p for p in inspect.signature(runner).parameters.values() if p.name != "self"]
    if len(params) != 2:
        raise DurableSpecError("the durable method takes (context: DurableContext, request: Model)")
    request_model = hints.get(params[1].name)
    if not (inspect.isclass(request_model) and issubclass(request_model, BaseModel)):
        raise DurableSpecError("the request parameter of the durable method must be annotated with a pydantic model")
    result_type = hints.get("return", Any)
    resume_model = getattr(wrapper, "durable_resume_model", None)
    if resume_model is not None and not (inspect.isclass(resume_model) and issubclass(resume_model, BaseModel)):
        raise DurableSpecError("durable_resume_model must be a pydantic model class")
    owner = wrapper.durable_owner_id if _overrides(wrapper, "durable_owner_id") else None
    target = getattr(wrapper, "pipeline", None)
    return DurableSpec(
        revision=revision.strip(),
        request_model=request_model,
        result_adapter=TypeAdapter(result_type),
        resume_model=resume_model,
        runner=runner,
        is_async=is_async,
        kind=_kind(target),
        owner_id=owner,
        target=target,
        deployed_at=time.time(),
    )
