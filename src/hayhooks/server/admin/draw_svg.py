"""A pipeline's graph as a small self-contained SVG (``GET /draw/{pipeline_name}?format=svg``), drawn here.

Layout: components in layers by their distance from the pipeline's inputs (breadth-first, so loops do not
push layers down forever), left to right within a layer; one straight arrow per connection, labelled with its
sockets. Plain enough for any browser, no fonts or scripts loaded.
"""

from __future__ import annotations

from collections import deque
from typing import Any
from xml.sax.saxutils import escape

_BOX_W, _BOX_H, _GAP_X, _GAP_Y, _MARGIN = 220, 52, 40, 70, 20


def _layers(graph: Any) -> dict[str, int]:
    nodes = list(graph.nodes)
    roots = [n for n in nodes if graph.in_degree(n) == 0] or nodes[:1]
    depth: dict[str, int] = {n: 0 for n in roots}
    queue = deque(roots)
    while queue:
        node = queue.popleft()
        for successor in graph.successors(node):
            if successor not in depth:
                depth[successor] = depth[node] + 1
                queue.append(successor)
    for node in nodes:  # parts not reachable from a root
        depth.setdefault(node, 0)
    return depth


def svg(pipeline: Any) -> str:
    graph = pipeline.graph
    depth = _layers(graph)
    rows: dict[int, list[str]] = {}
    for node in graph.nodes:
        rows.setdefault(depth[node], []).append(node)
    position: dict[str, tuple[int, int]] = {}
    for layer, names in rows.items():
        for column, name in enumerate(names):
            position[name] = (_MARGIN + column * (_BOX_W + _GAP_X), _MARGIN + layer * (_BOX_H + _GAP_Y))
    width = _MARGIN * 2 + max((len(n) for n in rows.values()), default=1) * (_BOX_W + _GAP_X) - _GAP_X
    height = _MARGIN * 2 + max(rows, default=0) * (_BOX_H + _GAP_Y) + _BOX_H
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>',
    ]
    for sender, receiver, data in graph.edges(data=True):
        (x1, y1), (x2, y2) = position[sender], position[receiver]
        start = (x1 + _BOX_W / 2, y1 + _BOX_H)
        end = (x2 + _BOX_W / 2, y2) if y2 > y1 else (x2 + _BOX_W / 2, y2 + _BOX_H)
        label = f"{getattr(data.get('from_socket'), 'name', '?')} → {getattr(data.get('to_socket'), 'name', '?')}"
        dash = "" if data.get("mandatory", True) else ' stroke-dasharray="4 3"'
        parts.append(
            f'<line x1="{start[0]}" y1="{start[1]}" x2="{end[0]}" y2="{end[1]}" stroke="#555"{dash} '
            'marker-end="url(#arrow)"/>'
        )
        middle = ((start[0] + end[0]) / 2 + 4, (start[1] + end[1]) / 2)
        parts.append(f'<text x="{middle[0]}" y="{middle[1]}" fill="#555">{escape(label)}</text>')
    for name, data in graph.nodes(data=True):
        x, y = position[name]
        kind = type(data.get("instance")).__name__
        parts.append(
            f'<rect x="{x}" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="6" fill="#eef3fb" stroke="#3b6db3"/>'
        )
        parts.append(f'<text x="{x + 10}" y="{y + 22}" font-weight="bold">{escape(name)}</text>')
        parts.append(f'<text x="{x + 10}" y="{y + 40}" fill="#444">{escape(kind)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
