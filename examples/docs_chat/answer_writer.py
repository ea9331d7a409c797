"""A Haystack component that answers from retrieved sections without a language model.

It picks the sentences sharing the most words with the question and streams the answer word by word through
the ``streaming_callback`` Hayhooks passes in, so a chat UI shows it being typed.
"""

from __future__ import annotations

import asyncio
import re
import time

from haystack import Document, component
from haystack.dataclasses import StreamingChunk

WORD = re.compile(r"[a-z0-9_]+")
LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
STOP_WORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it me of on or the this to what when where which "
    "who why with you your".split()
)
MAX_SENTENCES = 3


def terms(text: str) -> set[str]:
    return {word for word in WORD.findall(text.lower()) if word not in STOP_WORDS and len(word) > 1}


def keywords(question: str) -> str:
    """The question without stop words: what BM25 should rank on."""
    return " ".join(sorted(terms(question))) or question


def clean(sentence: str) -> str:
    """One line: Markdown links reduced to their text, table cells joined, list markers dropped."""
    sentence = LINK.sub(r"\1", " ".join(sentence.split())).lstrip("-* ")
    if sentence.startswith("|"):
        cells = [cell.strip() for cell in sentence.strip("|").split("|")]
        sentence = " — ".join(cell for cell in cells if cell)
    return sentence


def body(document: Document) -> str:
    """The document's text without its first line, the section heading (kept in the content for BM25)."""
    heading, _, rest = (document.content or "").partition("\n")
    return rest if heading == document.meta.get("section") else document.content or ""


def ranked_sentences(question: str, document: Document) -> list[tuple[int, int, str]]:
    """``(overlap, position, sentence)`` of the document's sentences sharing words with the question."""
    wanted, found = terms(question), []
    for position, raw in enumerate(re.split(r"(?<=[.!?:])\s+|\n{2,}|\n(?=[-*|] )", body(document))):
        sentence = clean(raw)
        overlap = len(wanted & terms(sentence))
        if overlap and 20 <= len(sentence) <= 400 and not sentence.startswith(("```", "---")):
            found.append((overlap, position, sentence))
    return found


def best_sentences(question: str, documents: list[Document]) -> list[tuple[str, Document]]:
    """The two best sentences of the best-ranked document, plus a strong one from the next document."""
    picked: list[tuple[str, Document]] = []
    for rank, document in enumerate(documents[:2]):
        ranked = sorted(ranked_sentences(question, document), reverse=True)
        keep = ranked[:2] if rank == 0 else [entry for entry in ranked[:1] if entry[0] >= 2]
        picked += [(sentence, document) for _, _, sentence in sorted(keep, key=lambda entry: entry[1])]
    return picked[:MAX_SENTENCES]


def compose(question: str, documents: list[Document]) -> str:
    picked = best_sentences(question, documents)
    if not picked:
        return f'I found nothing about "{question}" in the documentation. Try other keywords.'
    sources = sorted({f"{doc.meta.get('file')} › {doc.meta.get('section')}" for _, doc in picked})
    body = " ".join(sentence for sentence, _ in picked)
    return f"{body}\n\nSources: " + "; ".join(sources)


@component
class ExtractiveAnswer:
    """Answer = the best matching sentences of the documents, streamed word by word."""

    def __init__(self, word_delay: float = 0.0) -> None:
        self.word_delay = word_delay

    @staticmethod
    def _words(answer: str) -> list[str]:
        return re.findall(r"\S+\s*", answer)

    @component.output_types(answer=str)
    def run(self, question: str, documents: list[Document], streaming_callback=None) -> dict:
        answer = compose(question, documents)
        if streaming_callback is not None:
            for word in self._words(answer):
                streaming_callback(StreamingChunk(content=word))
                time.sleep(self.word_delay)
        return {"answer": answer}

    @component.output_types(answer=str)
    async def run_async(self, question: str, documents: list[Document], streaming_callback=None) -> dict:
        answer = compose(question, documents)
        if streaming_callback is not None:
            for word in self._words(answer):
                await streaming_callback(StreamingChunk(content=word))
                await asyncio.sleep(self.word_delay)
        return {"answer": answer}
