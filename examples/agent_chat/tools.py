"""The agent's tools: keyword search over the Hayhooks docs, and the current time."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from haystack import Document
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.tools import Tool

BUILT_IN = "Hayhooks serves Haystack pipelines as REST APIs, OpenAI-compatible chat models and MCP tools."


def _docs_dir() -> Path | None:
    for candidate in (os.environ.get("HAYHOOKS_EXAMPLES_DOCS_DIR"), Path.cwd() / "docs"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def _paragraphs() -> list[Document]:
    folder = _docs_dir()
    if folder is None:
        return [Document(content=BUILT_IN, meta={"file": "built-in"})]
    documents = [
        Document(content=part.strip(), meta={"file": path.name})
        for path in sorted(folder.glob("*.md"))
        for part in path.read_text(encoding="utf-8").split("\n\n")
        if part.strip()
    ]
    # A paragraph repeated in one file (a closing code fence, a recurring note) is one document: keep it once.
    return list({doc.id: doc for doc in documents}.values())


def docs_search_tool() -> Tool:
    store = InMemoryDocumentStore()
    store.write_documents(_paragraphs())
    retriever = InMemoryBM25Retriever(document_store=store, top_k=5)

    def search_docs(query: str) -> str:
        documents = retriever.run(query=query)["documents"]
        return "\n\n".join(f"[{doc.meta['file']}] {doc.content}" for doc in documents) or "No match."

    return Tool(
        name="search_docs",
        description="Search the Hayhooks documentation by keywords; returns the best matching paragraphs.",
        parameters={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
        function=search_docs,
    )


def current_time() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def clock_tool() -> Tool:
    return Tool(
        name="current_time",
        description="The current date and time (UTC, ISO 8601).",
        parameters={"type": "object", "properties": {}},
        function=current_time,
    )
