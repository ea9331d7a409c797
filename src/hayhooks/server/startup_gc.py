"""Fewer cyclic garbage collections while the server starts.

Starting up creates some 120,000 objects that live as long as the server (modules, classes, pydantic schemas,
pipeline components). With the default thresholds the collector runs about 300 times during the imports and the
startup deploy, walking those objects again and again for about a fifth of the startup time, and finds next to
nothing to free. The process that will serve the app raises the thresholds before loading it; the app restores
them after the startup deploy, once ``heap.settle_after_startup`` has collected once and frozen what is left
(restored before that, the first collection would walk every object startup made, delaying requests).
"""

from __future__ import annotations

import gc

# Young objects are collected every 200,000 net allocations instead of every 700: not at all while a server
# with a hundred pipelines starts (about 130,000), and still every so often while a much bigger one does.
STARTUP_THRESHOLDS = (200_000, 20, 100)

_saved: tuple[int, int, int] | None = None


def relax() -> None:
    global _saved
    if _saved is None:
        _saved = gc.get_threshold()
        gc.set_threshold(*STARTUP_THRESHOLDS)


def restore() -> None:
    global _saved
    if _saved is not None:
        gc.set_threshold(*_saved)
        _saved = None
