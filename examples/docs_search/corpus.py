"""Builds the searchable corpus: the project's Markdown docs, split into sections."""

from __future__ import annotations

import os
from pathlib import Path

from haystack import Document

BUILT_IN = {
    "about.md": (
        "# Hayhooks\n\nHayhooks serves Haystack pipelines as REST APIs, OpenAI-compatible chat backends and MCP "
        "tools.\n\n## Deploying\n\nPut a pipeline folder with pipeline_wrapper.py, or a YAML file, in the "
        "pipelines dir and start the server with hayhooks run."
    )
}


def docs_folder() -> Path | None:
    """``HAYHOOKS_EXAMPLES_DOCS_DIR``, else ``./docs`` of the working directory."""
    for candidate in (os.environ.get("HAYHOOKS_EXAMPLES_DOCS_DIR"), "docs"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def is_fence(line: str) -> bool:
    """A line opening or closing a fenced code block (``` or ~~~, possibly indented by up to 3 spaces)."""
    text = line.lstrip(" ")
    return len(line) - len(text) < 4 and text.startswith(("```", "~~~"))


def split_sections(name: str, text: str) -> list[Document]:
    """One document per Markdown heading; a ``#`` line inside a fenced code block (a shell comment) is not one."""
    sections, current, title, fence = [], [], name, None
    for line in text.splitlines():
        if is_fence(line):
            marker = line.lstrip(" ")[:3]
            fence = marker if fence is None else (None if marker == fence else fence)
        heading = fence is None and line.startswith("#")
        if heading and current:
            sections.append(Document(content="\n".join(current).strip(), meta={"file": name, "section": title}))
            current = []
        if heading:
            title = line.lstrip("#").strip()
        current.append(line)
    if current:
        sections.append(Document(content="\n".join(current).strip(), meta={"file": name, "section": title}))
    return [doc for doc in sections if doc.content]


def load_documents() -> list[Document]:
    folder = docs_folder()
    sources = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.md"))} if folder else {}
    documents = [doc for name, text in (sources or BUILT_IN).items() for doc in split_sections(name, text)]
    return documents
