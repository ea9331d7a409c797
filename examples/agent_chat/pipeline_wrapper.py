"""A Haystack Agent (OpenAI model + tools) served as a chat model. Needs ``OPENAI_API_KEY``.

The pipeline deploys without a key, so the rest of the server is not affected; every request then answers a
clear error naming ``OPENAI_API_KEY`` until the server is restarted with the key set. The model can be changed
with ``AGENT_CHAT_MODEL`` (default ``gpt-4o-mini``). Tool calls show up in Open WebUI as status lines and
collapsible result blocks.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator

from fastapi import HTTPException
from haystack.components.agents import Agent
from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.dataclasses import ChatMessage

from hayhooks import (
    BasePipelineWrapper,
    async_streaming_generator,
    chat_messages_from_openai,
    chat_messages_from_openai_response,
    default_on_tool_call_end,
    default_on_tool_call_start,
    log,
)

from .tools import clock_tool, docs_search_tool

SYSTEM_PROMPT = (
    "You answer questions about Hayhooks. Use the search_docs tool to look things up in its documentation and "
    "cite the file names you used. Be concise."
)
MISSING_KEY = (
    "The agent_chat pipeline needs an OpenAI API key: set OPENAI_API_KEY in the environment of the Hayhooks "
    "server and restart it."
)


def require_api_key() -> None:
    if not os.environ.get("OPENAI_API_KEY"):
        raise HTTPException(status_code=503, detail=MISSING_KEY)


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        # Building the generator does not read the key; it is resolved on the first request.
        generator = OpenAIChatGenerator(model=os.environ.get("AGENT_CHAT_MODEL", "gpt-4o-mini"))
        self.agent = Agent(
            chat_generator=generator, tools=[docs_search_tool(), clock_tool()], system_prompt=SYSTEM_PROMPT
        )
        if not os.environ.get("OPENAI_API_KEY"):
            # Expected when the examples are tried without a key: a note, not a warning (requests answer 503).
            log.info("agent_chat deployed; OPENAI_API_KEY is not set, so it answers 503 until the server has it.")

    def _stream(self, messages: list[ChatMessage]) -> AsyncGenerator:
        return async_streaming_generator(
            self.agent,
            pipeline_run_args={"messages": messages},
            on_tool_call_start=default_on_tool_call_start,
            on_tool_call_end=default_on_tool_call_end,
        )

    def run_api(self, question: str) -> str:
        """Ask the agent a question about Hayhooks (needs OPENAI_API_KEY).

        Args:
            question: The question.
        """
        require_api_key()
        result = self.agent.run(messages=[ChatMessage.from_user(question)])
        return result["last_message"].text or ""

    async def run_chat_completion_async(self, model: str, messages: list[dict], body: dict) -> AsyncGenerator:
        require_api_key()
        return self._stream(chat_messages_from_openai([m for m in messages if m.get("role") != "system"]))

    async def run_response_async(self, model: str, input_items: list[dict], body: dict) -> AsyncGenerator:
        require_api_key()
        return self._stream(chat_messages_from_openai_response(input_items))
