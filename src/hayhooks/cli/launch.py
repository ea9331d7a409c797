"""The ``hayhooks`` console script (and ``python -m hayhooks``).

What a command imports lives as long as its process, so the cyclic garbage collector is relaxed before the CLI,
and the server it may start, are imported (``startup_gc``): ``hayhooks run`` hands that on to its app, which
restores the usual thresholds once it has started; every other command restores them at once.
"""

from __future__ import annotations


def main() -> None:
    from hayhooks.server import startup_gc

    startup_gc.relax()
    from hayhooks.cli import app

    app()
