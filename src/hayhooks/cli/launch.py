"""The ``hayhooks`` console script (and ``python -m hayhooks``).

What a command imports lives as long as its process, so the cyclic garbage collector is relaxed before the CLI,
and the server it may start, are imported (``process/gc_tuning.py``): ``hayhooks run`` hands that on to its app, which
restores the usual thresholds once it has started; every other command restores them at once.
"""

from __future__ import annotations


def main() -> None:
    from hayhooks.process import gc_tuning

    gc_tuning.relax()
    from hayhooks.cli import app

    app()
