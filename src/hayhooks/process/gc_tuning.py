"""How the serving process runs Python's cyclic garbage collector: relaxed while it starts, frozen once started.

Starting up creates some 120,000 objects that live as long as the server (modules, classes, pydantic schemas,
pipeline components). With the default thresholds the collector runs about 300 times during the imports and the
startup deploy, walks those objects again and again for about a fifth of the startup time, and finds next to
nothing to free. So:

1. ``relax()``: the console script raises the thresholds before it imports the CLI (``cli/launch.py``); a
   command that does not serve calls ``restore()`` at once (``cli/__init__.py``), and so does ``process.serve()``
   when the app is served by other processes (several workers, ``--reload``).
2. ``startup_finished()``: the app calls it once, off the event loop, after its startup deploy. It collects
   what loading left behind, moves every surviving object to the permanent generation (``gc.freeze``: full
   collections never walk it again, which kept 50-140 ms pauses off the request path), then restores the
   thresholds. Restored before the freeze, the first collection would walk everything startup made.
3. ``freeze_after_deploy``: a registry subscriber; a pipeline deployed later is long-lived too.

Garbage made by requests is collected as usual.
"""

from __future__ import annotations

import gc

# Young objects are collected every 200,000 net allocations instead of every 700: not at all while a server
# with a hundred pipelines starts (about 130,000), and still every so often while a much bigger one does.
STARTUP_THRESHOLDS = (200_000, 20, 100)

_saved: tuple[int, int, int] | None = None


def relax() -> None:
    """Raise the thresholds for startup (a second call keeps the thresholds saved by the first)."""
    global _saved
    if _saved is None:
        _saved = gc.get_threshold()
        gc.set_threshold(*STARTUP_THRESHOLDS)


def restore() -> None:
    """Put back the thresholds ``relax`` saved (nothing to do without it)."""
    global _saved
    if _saved is not None:
        gc.set_threshold(*_saved)
        _saved = None


def startup_finished() -> None:
    """Collect once, freeze what is left, then collect as configured (blocking: call it off the event loop)."""
    try:
        gc.collect()
        gc.freeze()
    finally:
        restore()


def freeze_after_deploy(event: str, name: str) -> None:
    """Registry subscriber: a deployed pipeline's objects are long-lived too (no full collection: stays cheap)."""
    if event == "deployed":
        gc.freeze()
