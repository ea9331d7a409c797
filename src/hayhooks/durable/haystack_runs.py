"""Running the wrapper's Haystack pipeline or agent inside a durable execution.

``checkpoint_at`` names components; before each one runs, Haystack's breakpoint machinery hands us a
``PipelineSnapshot`` which is saved as the execution's checkpoint. A later attempt (after a crash, a lost
lease or a redeploy of the same revision) resumes the pipeline from the newest snapshot.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hayhooks.durable.models import encode

if TYPE_CHECKING:
    from hayhooks.durable.context import DurableContext

_KIND = "haystack_pipeline"


def _names(checkpoint_at: str | list[str] | None) -> list[str]:
    if checkpoint_at is None:
        return []
    return [checkpoint_at] if isinstance(checkpoint_at, str) else list(checkpoint_at)


def _saved(context: DurableContext, call: int) -> dict[str, Any] | None:
    saved = context._record.checkpoint
    if isinstance(saved, dict) and saved.get("kind") == _KIND and saved.get("call") == call:
        return saved
    return None


def run_pipeline_with_checkpoints(
    context: DurableContext, pipeline: Any, data: dict[str, Any], checkpoint_at: str | list[str] | None, call: int
) -> dict[str, Any]:
    if pipeline is None or not hasattr(pipeline, "run"):
        raise TypeError("context.run_pipeline needs `self.pipeline` to be a Haystack Pipeline")
    from haystack.core.errors import BreakpointException
    from haystack.dataclasses.breakpoints import Breakpoint, PipelineSnapshot

    remaining = _names(checkpoint_at)
    snapshot = None
    saved = _saved(context, call)
    if saved is not None:
        snapshot = PipelineSnapshot.from_dict(saved["snapshot"])
        done = saved["component"]
        remaining = remaining[remaining.index(done) + 1 :] if done in remaining else []
    while True:
        break_point = Breakpoint(component_name=remaining[0]) if remaining else None
        try:
            if snapshot is not None:
                return pipeline.run(data={}, break_point=break_point, pipeline_snapshot=snapshot)
            return pipeline.run(data, break_point=break_point)
        except BreakpointException as exc:
            if exc.pipeline_snapshot is None or not remaining:
                raise
            snapshot = exc.pipeline_snapshot
            component = remaining.pop(0)
            checkpoint = {
                "kind": _KIND,
                "call": call,
                "component": component,
                "snapshot": json.loads(encode_snapshot(snapshot)),
            }
            context.checkpoint_sync(
                checkpoint, _progress=(f"Checkpoint saved before pipeline component '{component}'", "checkpoint")
            )


def encode_snapshot(snapshot: Any) -> str:
    try:
        return encode(snapshot.to_dict())
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the pipeline snapshot cannot be stored as JSON: {exc}") from None


def run_agent(agent: Any, messages: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    if agent is None or not hasattr(agent, "run"):
        raise TypeError("context.run_agent needs `self.pipeline` to be a Haystack Agent")
    return agent.run(messages=messages, **kwargs)
