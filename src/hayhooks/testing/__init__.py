"""Small helpers for testing wrappers and pipelines without models or network."""
