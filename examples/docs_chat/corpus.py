"""The documents the chat answers from: the project's Markdown docs, one document per section.

Where the docs are: ``$HAYHOOKS_EXAMPLES_DOCS_DIR``, else ``./docs`` under the server's working directory, else
the ``docs`` folder of a source checkout this file lives in. Without any of them a small built-in corpus keeps the
example working (pipelines are copied to a private folder before import, so ``__file__`` alone is not enough).
"""

from __future__ import annotations

import os
from pathlib import Path

from haystack import Document

FALLBACK = {
    "hayhooks.md": """# What Hayhooks does
Hayhooks serves Haystack pipelines and agents as REST APIs, as OpenAI-compatible chat models and as MCP tools.

# Deploying a pipeline
Put a folder with a pipeline_wrapper.py, or a YAML pipeline file, in the pipelines directory and start the
server with hayhooks run. Pipelines can also be deployed at runtime with hayhooks pipeline deploy-files.

# Chatting with a pipeline
A wrapper that implements run_chat_completion or run_chat_completion_async appears as a model under
/v1/models and answers /v1/chat/completions, so Open WebUI or the openai SDK can talk to it.
""",
}


def docs_folder() -> Path | None:
    candidates = [os.environ.get("HAYHOOKS_EXAMPLES_DOCS_DIR"), Path.cwd() / "docs"]
    candidates += [parent / "docs" for parent in Path(__file__).resolve().parents[:3]]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir() and any(Path(candidate).glob("*.md")):
            return Path(candidate)
    return None


def sections(file_name: str, text: str) -> list[Document]:
    """One document per Markdown heading (code blocks included), tagged with file and heading."""
    documents: list[Document] = []
    heading, lines, in_code = file_name, [], False

    def flush() -> None:
        content = "\n".join(lines).strip()
        if content:  # the heading stays in the content: BM25 then ranks on it too
            documents.append(Document(content=f"{heading}\n{content}", meta={"file": file_name, "section": heading}))

    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if line.startswith("#") and not in_code:
            flush()
            heading, lines = line.lstrip("#").strip(), []
            continue
        lines.append(line)
    flush()
    return documents


def load_corpus() -> tuple[list[Document], str]:
    """The documents and where they came from."""
    folder = docs_folder()
    if folder is None:
        texts, origin = FALLBACK, "the built-in corpus"
    else:
        texts = {path.name: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.md"))}
        origin = str(folder)
    documents = [doc for name, text in texts.items() for doc in sections(name, text)]
    # Sections with the same heading and text in one file are one document (the same id): keep it once.
    return list({doc.id: doc for doc in documents}.values()), origin
