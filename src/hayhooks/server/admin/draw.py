"""``GET /draw/{pipeline_name}``: the pipeline's graph as a Mermaid flowchart, rendered here.

Hayhooks 2.1.0 asks an online service for a PNG and answers 500 when the server has no internet. Here the
diagram is Mermaid text built from the pipeline's own graph: it works offline and renders in GitHub, GitLab,
most Markdown editors, and any Mermaid viewer. ``?format=svg`` answers a picture instead, also drawn here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Haystack loads when a pipeline is drawn (a server with nothing deployed never needs it)
    from haystack.core.pipeline.base import PipelineBase

MERMAID_MEDIA_TYPE = "text/plain; charset=utf-8"
SVG_MEDIA_TYPE = "image/svg+xml"


class NothingToDrawError(LookupError):
    """The wrapper has no Haystack pipeline (e.g. it calls an API or an agent directly)."""


def _node_id(name: str, ids: dict[str, str]) -> str:
    if name not in ids:
        ids[name] = f"n{len(ids)}_{re.sub(r'[^0-9A-Za-z_]', '_', name)}"
    return ids[name]


def _label(text: str) -> str:
    """Mermaid quoted label text (quotes become their HTML entity, as Mermaid expects)."""
    return text.replace('"', "#quot;").replace("\n", " ")


def mermaid(pipeline: PipelineBase) -> str:
    """A top-down flowchart: one box per component (name and class), one arrow per connection (its sockets)."""
    graph: Any = pipeline.graph
    ids: dict[str, str] = {}
    lines = ["flowchart TD"]
    for name, data in graph.nodes(data=True):
        kind = type(data.get("instance")).__name__
        lines.append(f'    {_node_id(name, ids)}["{_label(name)}<br/><small>{_label(kind)}</small>"]')
    for sender, receiver, data in graph.edges(data=True):
        sockets = f"{getattr(data.get('from_socket'), 'name', '?')} → {getattr(data.get('to_socket'), 'name', '?')}"
        arrow = "-->" if data.get("mandatory", True) else "-.->"
        lines.append(f'    {_node_id(sender, ids)} {arrow}|"{_label(sockets)}"| {_node_id(receiver, ids)}')
    return "\n".join(lines) + "\n"


def draw(wrapper: Any, name: str, image_format: str = "mermaid") -> tuple[str, str]:
    """``(text, media type)``: Mermaid text, or with ``image_format="svg"`` an SVG drawn here."""
    from haystack.core.pipeline.base import PipelineBase

    target = getattr(wrapper, "pipeline", None)
    if not isinstance(target, PipelineBase):
        raise NothingToDrawError(f"Pipeline '{name}' has no Haystack pipeline to draw (its wrapper's `pipeline`).")
    if image_format == "svg":
        from hayhooks.server.admin.draw_svg import svg

        return svg(target), SVG_MEDIA_TYPE
    return mermaid(target), MERMAID_MEDIA_TYPE
