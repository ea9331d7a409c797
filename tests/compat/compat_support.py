"""Pipeline wrappers written the way Hayhooks 2.1.0's documentation and examples write them.

They use only names a 2.1.0 user imports (old module paths included) and Haystack components shipped with
``hayhooks.testing``, so they run offline.
"""

from __future__ import annotations

# The old module paths, as older docs and examples still write them.
LEGACY_PATHS_WRAPPER = '''
from haystack import Pipeline

from hayhooks.server.logger import log
from hayhooks.server.pipelines.utils import get_last_user_message
from hayhooks.server.utils.base_pipeline_wrapper import BasePipelineWrapper
from hayhooks.testing.components import Hello


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = Pipeline()
        self.pipeline.add_component("hello", Hello())
        log.info("legacy wrapper ready")

    def run_api(self, word: str) -> str:
        """Greets a word.

        Args:
            word: Who to greet.
        """
        log.debug("greeting {}", word)
        return self.pipeline.run({"hello": {"word": word}})["hello"]["output"]

    def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> str:
        question = get_last_user_message(messages)
        return self.pipeline.run({"hello": {"word": question}})["hello"]["output"]
'''

# Top-level names, loguru calls, request headers injected into run_api_async / run_chat_completion_async.
HEADERS_WRAPPER = """
from fastapi.datastructures import Headers

from hayhooks import AsyncPipeline, BasePipelineWrapper, coerce_pipeline_inputs, log
from hayhooks.testing.components import Hello


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = AsyncPipeline()
        self.pipeline.add_component("hello", Hello())

    async def run_api_async(self, word: str, headers: Headers | None = None) -> dict:
        tenant = headers.get("x-tenant") if headers is not None else None
        log.bind(tenant=tenant).success("tenant {} asked for {}", tenant, word)
        log.trace("only at TRACE level")
        data = coerce_pipeline_inputs(self.pipeline, {"hello": {"word": word}})
        result = await self.pipeline.run_async(data)
        return {"greeting": result["hello"]["output"], "tenant": tenant, "headers_type": type(headers).__name__}

    async def run_chat_completion_async(
        self, model: str, messages: list[dict], body: dict, headers: Headers | None = None
    ) -> str:
        return f"authorization={headers.get('authorization', 'missing') if headers is not None else None}"

    def run_response(self, model: str, input_items: list[dict], body: dict, headers: Headers | None = None) -> str:
        return f"tenant={headers.get('x-tenant') if headers is not None else None}"
"""

# Open WebUI events streamed next to the answer (status, notification, message, source, details tag).
OPEN_WEBUI_WRAPPER = """
from collections.abc import Generator

from hayhooks import BasePipelineWrapper, get_last_user_message
from hayhooks.open_webui import (
    create_details_tag,
    create_message_event,
    create_notification_event,
    create_source_event,
    create_status_event,
)


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> Generator:
        question = get_last_user_message(messages)

        def answer() -> Generator:
            yield create_status_event("Thinking...")
            yield f"You asked: {question}. "
            yield create_notification_event("Almost there", "warning")
            yield create_source_event({"source": {"name": "docs"}, "document": ["a page"]})
            yield create_details_tag("lookup", "Lookup result", "42")
            yield create_message_event("(message event)")
            yield create_status_event("Done", done=True)

        return answer()
"""

# ``streaming_generator`` imported from its old module path; ``default_on_pipeline_end`` writes the result.
PIPELINE_END_WRAPPER = """
from collections.abc import Generator

from haystack import Pipeline
from test_components import WordStreamer

from hayhooks import BasePipelineWrapper, default_on_pipeline_end, get_last_user_message
from hayhooks.server.pipelines.utils import streaming_generator


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = Pipeline()
        self.pipeline.add_component("words", WordStreamer())

    def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> Generator:
        return streaming_generator(
            self.pipeline,
            pipeline_run_args={"words": {"text": get_last_user_message(messages)}},
            on_pipeline_end=default_on_pipeline_end,
        )
"""

# run_api streaming plain text; a UI event in that stream is skipped (it belongs to the chat endpoints).
RUN_API_STREAM_WRAPPER = """
from collections.abc import Generator

from hayhooks import BasePipelineWrapper
from hayhooks.open_webui import create_message_event


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, query: str) -> Generator:
        def stream() -> Generator:
            yield create_message_event(content=f"event: {query}")
            for word in query.split():
                yield word + " "

        return stream()
"""

# A wrapper that serves nothing: 2.1.0 refuses it with 422.
NO_RUN_METHOD_WRAPPER = """
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None
"""

ALL_WRAPPERS = {
    "legacy_paths": LEGACY_PATHS_WRAPPER,
    "with_headers": HEADERS_WRAPPER,
    "open_webui_events": OPEN_WEBUI_WRAPPER,
    "pipeline_end": PIPELINE_END_WRAPPER,
}


def sse_payloads(text: str) -> list[str]:
    """The ``data:`` payloads of an SSE body, in order."""
    return [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]
