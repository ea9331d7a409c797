"""Events for a Chainlit front end: custom elements rendered by the Chainlit UI."""

from __future__ import annotations

from typing import Any

from hayhooks.events import PipelineEvent


class ChainlitEvent(PipelineEvent):
    """A ``PipelineEvent`` with free-form ``data`` for Chainlit."""

    data: dict[str, Any]


def create_custom_element_event(name: str, props: dict[str, Any]) -> ChainlitEvent:
    """Render the Chainlit custom element ``name`` with ``props``."""
    return ChainlitEvent(type="custom_element", data={"name": name, "props": props})


__all__ = ["ChainlitEvent", "PipelineEvent", "create_custom_element_event"]
