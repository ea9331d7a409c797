"""Small Haystack components the tests build pipelines from (importable as ``test_components``)."""

from __future__ import annotations

import time

from haystack import component
from haystack.dataclasses import StreamingChunk


@component
class Upper:
    @component.output_types(text=str)
    def run(self, text: str) -> dict:
        return {"text": text.upper()}


@component
class Suffix:
    def __init__(self, suffix: str = "!") -> None:
        self.suffix = suffix

    @component.output_types(text=str)
    def run(self, text: str) -> dict:
        return {"text": text + self.suffix}


@component
class Sleep:
    @component.output_types(text=str)
    def run(self, text: str, seconds: float = 0.0) -> dict:
        time.sleep(seconds)
        return {"text": text}


@component
class Counter:
    """Emits ``count`` numbered words through a streaming callback, then returns them joined."""

    @component.output_types(text=str)
    def run(self, count: int = 3, streaming_callback=None) -> dict:
        words = [f"w{i}" for i in range(count)]
        for word in words:
            if streaming_callback:
                streaming_callback(StreamingChunk(content=word + " "))
        return {"text": " ".join(words)}
