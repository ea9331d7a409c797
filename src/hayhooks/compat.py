"""Names Hayhooks users import that moved or vanished in Haystack 3.

Haystack 3 folded ``AsyncPipeline`` into ``Pipeline`` (which has ``run_async``), so wrappers written for
``from hayhooks import AsyncPipeline`` keep working.
"""

from typing import Any

import haystack
from haystack import Pipeline as _HaystackPipeline

Pipeline: type[Any] = getattr(haystack, "AsyncPipeline", _HaystackPipeline)
AsyncPipeline = Pipeline

__all__ = ["AsyncPipeline", "Pipeline"]
