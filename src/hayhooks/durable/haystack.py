"""``HaystackDurableAdapter``: the Haystack pipeline or agent an embedded ``DurableDeployment`` runs.

Hayhooks 2.1.0's embedding API passes the pipeline (or agent) to a deployment through an adapter::

    adapter = HaystackDurableAdapter(pipeline)
    deployment = DurableDeployment("docs", "v1", store, Request, runner, kind=adapter.kind, adapter=adapter)

and the runner calls ``context.run_pipeline(...)`` / ``context.run_agent(...)`` on it, as a durable wrapper does
on ``self.pipeline``. Checkpoints are Haystack snapshots, as for wrappers (``haystack_runs.py``).
"""

from __future__ import annotations

from typing import Any

from hayhooks.durable.models import ExecutionKind


class HaystackDurableAdapter:
    """A Haystack ``Pipeline``, ``AsyncPipeline`` or ``Agent`` for a ``DurableDeployment``; ``kind`` says which."""

    def __init__(self, target: object) -> None:
        from haystack.components.agents import Agent

        if isinstance(target, Agent):
            self.kind = ExecutionKind.AGENT
        elif callable(getattr(target, "run", None)) and hasattr(target, "graph"):
            self.kind = ExecutionKind.PIPELINE
        else:
            raise TypeError(f"HaystackDurableAdapter needs a Haystack Pipeline or Agent, got {type(target).__name__}")
        self.target = target

    def __repr__(self) -> str:
        return f"HaystackDurableAdapter({type(self.target).__name__}, kind={self.kind.value})"


def haystack_target(adapter: Any) -> Any:
    """What ``context.run_pipeline`` / ``run_agent`` run: the adapter's pipeline or agent, or ``adapter`` itself."""
    return adapter.target if isinstance(adapter, HaystackDurableAdapter) else adapter
