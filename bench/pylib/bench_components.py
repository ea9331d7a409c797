"""Tiny Haystack components used by the benchmark pipelines.

Both servers import this module (it is put on PYTHONPATH and named in
HAYSTACK_DESERIALIZATION_ALLOWLIST), so wrapper and YAML pipelines can use it.
"""

from haystack import component


@component
class Shout:
    """Upper-cases a text."""

    @component.output_types(text=str)
    def run(self, text: str) -> dict:
        return {"text": text.upper()}


@component
class WordCount:
    """Counts the words of a text and echoes it back."""

    @component.output_types(text=str, words=int)
    def run(self, text: str) -> dict:
        return {"text": text, "words": len(text.split())}
