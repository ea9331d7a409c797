"""Keyword (BM25) search over the project's own documentation. Works offline: no key, no download."""

from __future__ import annotations

from haystack import Pipeline
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
from haystack.document_stores.in_memory import InMemoryDocumentStore
from pydantic import BaseModel

from hayhooks import BasePipelineWrapper, log

from .corpus import load_documents


class SearchHit(BaseModel):
    file: str
    section: str
    score: float
    snippet: str


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        store = InMemoryDocumentStore()
        documents = load_documents()
        store.write_documents(documents)
        log.info("docs_search indexed {} sections", len(documents))
        self.pipeline = Pipeline()
        self.pipeline.add_component("retriever", InMemoryBM25Retriever(document_store=store))

    def run_api(self, query: str, top_k: int = 3) -> list[SearchHit]:
        """Search the Hayhooks documentation by keywords.

        Args:
            query: Words to look for, e.g. "startup deploy workers".
            top_k: How many sections to return.
        """
        if not query.strip():
            return []
        result = self.pipeline.run({"retriever": {"query": query, "top_k": top_k}})
        return [
            SearchHit(
                file=doc.meta.get("file", ""),
                section=doc.meta.get("section", ""),
                score=round(doc.score or 0.0, 4),
                snippet=(doc.content or "")[:300],
            )
            for doc in result["retriever"]["documents"]
        ]
