"""Tiny Haystack components for tests and examples."""

from __future__ import annotations

from typing import Any

from haystack import component


@component
class Hello:
    """Greets ``word``: ``{"output": "Hello, <word>!"}``."""

    @component.output_types(output=str)
    def run(self, word: str = "world") -> dict[str, Any]:
        return {"output": f"Hello, {word}!"}


__all__ = ["Hello", "component"]
