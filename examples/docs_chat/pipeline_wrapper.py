"""Chat with the Hayhooks docs, offline: BM25 retrieval plus an extractive answer streamed word by word.

No API key, no model download: it works in Open WebUI (pick the ``docs_chat`` model), with the ``openai`` SDK
against ``/v1``, and over REST (``POST /docs_chat/run``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator
from typing import Annotated

from fastapi import HTTPException
from haystack import Pipeline
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
from haystack.document_stores.in_memory import InMemoryDocumentStore
from pydantic import BaseModel, Field

from hayhooks import (
    BasePipelineWrapper,
    async_streaming_generator,
    get_last_user_input_text,
    get_last_user_message,
    log,
)

from .answer_writer import ExtractiveAnswer, keywords
from .corpus import load_corpus


class DocsAnswer(BaseModel):
    answer: str
    sources: list[str]


class PipelineWrapper(BasePipelineWrapper):
    streaming_components = ["answer"]

    def setup(self) -> None:
        documents, origin = load_corpus()
        store = InMemoryDocumentStore()
        store.write_documents(documents)  # no duplicates: load_corpus keeps each document once
        log.info("docs_chat indexed {} sections from {}", len(documents), origin)
        delay = float(os.environ.get("DOCS_CHAT_WORD_DELAY", "0.02"))
        self.pipeline = Pipeline()
        self.pipeline.add_component("retriever", InMemoryBM25Retriever(document_store=store, top_k=4))
        self.pipeline.add_component("answer", ExtractiveAnswer(word_delay=delay))
        self.pipeline.connect("retriever.documents", "answer.documents")

    def _inputs(self, question: str) -> dict:
        return {"retriever": {"query": keywords(question)}, "answer": {"question": question}}

    def run_api(self, question: Annotated[str, Field(min_length=1, pattern=r"\S")]) -> DocsAnswer:
        """Answer a question about Hayhooks from its documentation.

        Args:
            question: What you want to know, e.g. "How do I deploy a YAML pipeline?".
        """
        result = self.pipeline.run(self._inputs(question), include_outputs_from={"retriever"})
        sources = [f"{doc.meta.get('file')} › {doc.meta.get('section')}" for doc in result["retriever"]["documents"]]
        return DocsAnswer(answer=result["answer"]["answer"], sources=sources)

    async def run_chat_completion_async(self, model: str, messages: list[dict], body: dict) -> AsyncGenerator:
        question = get_last_user_message(messages) or ""
        if not question.strip():
            missing = "`messages` is empty" if not messages else "`messages` has no user message with text"
            raise HTTPException(422, f"{missing}: send the question as a user message.")
        return async_streaming_generator(self.pipeline, pipeline_run_args=self._inputs(question))

    async def run_response_async(self, model: str, input_items: list[dict], body: dict) -> AsyncGenerator:
        question = get_last_user_input_text(input_items) or ""
        if not question.strip():
            missing = "`input` is missing" if body.get("input") is None else "`input` has no user text"
            raise HTTPException(422, f"{missing}: send the question as `input` (a string or a user message).")
        return async_streaming_generator(self.pipeline, pipeline_run_args=self._inputs(question))
