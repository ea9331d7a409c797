"""Keep full garbage collections off the request path.

A server with Haystack, FastAPI and pydantic loaded holds some 100,000 long-lived objects. CPython's collector
walks all of them in each full (generation 2) collection, which runs every so often under steady load and took
50-140 ms on a 2-core machine: a pause every request in flight waits through, and the main cause of p99 spikes.
Objects that exist once pipelines are deployed (modules, classes, components, schemas) live as long as the
server, so they are moved to the collector's permanent generation (``gc.freeze``), which it never walks.
Garbage made by requests is still collected as usual.
"""

from __future__ import annotations

import gc


def settle_after_startup() -> None:
    """Collect the garbage that loading made, then freeze what is left (called once, off the event loop)."""
    gc.collect()
    gc.freeze()


def freeze_after_deploy(event: str, name: str) -> None:
    """Registry subscriber: a deployed pipeline's objects are long-lived too (no full collection: stays cheap)."""
    if event == "deployed":
        gc.freeze()
