"""The class users subclass in ``pipeline_wrapper.py``.

A wrapper builds its pipeline once in ``setup()`` and exposes it through any of the optional methods below.
The server inspects which methods a subclass overrides to decide which routes and tools the pipeline gets.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Generator
from typing import Any, ClassVar

# Methods a wrapper may override; the base versions only raise.
OPTIONAL_METHODS = (
    "run_api",
    "run_api_async",
    "run_chat_completion",
    "run_chat_completion_async",
    "run_response",
    "run_response_async",
    "run_file_upload",
    "run_durable",
    "run_durable_async",
)


class BasePipelineWrapper(ABC):
    """Base class of every pipeline wrapper.

    Class attributes a subclass may set:

    - ``skip_mcp``: do not list this pipeline as an MCP tool.
    - ``request_timeout``, ``max_concurrent_runs``, ``max_queued_runs``: per-pipeline limits that override
      the server-wide ``HAYHOOKS_*`` defaults.
    - ``streaming_components``: default components that stream in ``streaming_generator``.
    """

    skip_mcp: ClassVar[bool] = False
    request_timeout: ClassVar[float | None] = None
    max_concurrent_runs: ClassVar[int | None] = None
    max_queued_runs: ClassVar[int | None] = None
    streaming_components: ClassVar[list[str] | str | None] = None
    # Durable executions (docs/durable-runs.md): the code revision executions record, and the resume body model.
    durable_revision: ClassVar[str | None] = None
    durable_resume_model: ClassVar[type | None] = None

    def __init__(self) -> None:
        self.pipeline: Any = None

    @abstractmethod
    def setup(self) -> None:
        """Build ``self.pipeline``. Called once per deploy, before the pipeline serves any request."""

    # No docstring on purpose: a subclass's docstring becomes the MCP tool description.
    def run_api(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError("run_api not implemented")

    async def run_api_async(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError("run_api_async not implemented")

    def run_chat_completion(self, model: str, messages: list[dict], body: dict) -> str | Generator:
        """Answer an OpenAI chat completion request for this pipeline (``model`` is the pipeline name)."""
        raise NotImplementedError("run_chat_completion not implemented")

    async def run_chat_completion_async(self, model: str, messages: list[dict], body: dict) -> str | AsyncGenerator:
        """Async version of ``run_chat_completion``."""
        raise NotImplementedError("run_chat_completion_async not implemented")

    def run_response(self, model: str, input_items: list[dict], body: dict) -> str | Generator:
        """Answer an OpenAI Responses API request for this pipeline."""
        raise NotImplementedError("run_response not implemented")

    async def run_response_async(self, model: str, input_items: list[dict], body: dict) -> str | AsyncGenerator:
        """Async version of ``run_response``."""
        raise NotImplementedError("run_response_async not implemented")

    def run_file_upload(self, filename: str | None, content_type: str | None, content: bytes, purpose: str) -> dict:
        """Handle a file uploaded through ``POST /v1/files``; return an OpenAI file object."""
        raise NotImplementedError("run_file_upload not implemented")

    def run_durable(self, context: Any, request: Any) -> Any:
        """Run one durable execution (``POST /{name}/run-durable``); see ``hayhooks.DurableContext``."""
        raise NotImplementedError("run_durable not implemented")

    async def run_durable_async(self, context: Any, request: Any) -> Any:
        """Async version of ``run_durable``."""
        raise NotImplementedError("run_durable_async not implemented")

    def durable_owner_id(self, request: Any) -> str:
        """Owner of an execution submitted with this HTTP request; other owners get 404 for it."""
        raise NotImplementedError("durable_owner_id not implemented")


def implemented_methods(wrapper_cls: type) -> frozenset[str]:
    """Names of the optional methods a wrapper class (or instance attributes) overrides."""
    found = set()
    for name in OPTIONAL_METHODS:
        method = getattr(wrapper_cls, name, None)
        base = getattr(BasePipelineWrapper, name)
        if method is not None and getattr(method, "__func__", method) is not base:
            found.add(name)
    return frozenset(found)
