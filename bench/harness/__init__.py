"""Benchmark harness comparing the reference Hayhooks, our server and a bare floor app.

Everything in this package uses the standard library only, so ``bench/run.py`` can be
started with any Python 3.10+ interpreter; the servers run from their own virtualenvs.
"""
