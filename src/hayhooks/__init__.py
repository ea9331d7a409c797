"""Hayhooks: serve Haystack pipelines and agents as REST APIs, OpenAI-compatible backends and MCP tools.

Public names load on first use so ``import hayhooks`` stays cheap for the CLI.
"""

from importlib import import_module
from typing import Any

from hayhooks import legacy_paths
from hayhooks.version import __version__

legacy_paths.install()  # old module paths (hayhooks.server.logger, ...) resolve to the modules that replaced them

_EXPORTS = {
    "AsyncPipeline": "hayhooks.compat",
    "Pipeline": "hayhooks.compat",
    "BasePipelineWrapper": "hayhooks.wrapper",
    "log": "hayhooks.logger",
    "SSEStream": "hayhooks.streaming",
    "streaming_generator": "hayhooks.streaming",
    "async_streaming_generator": "hayhooks.streaming",
    "get_last_user_message": "hayhooks.messages",
    "get_last_user_input_text": "hayhooks.messages",
    "is_user_message": "hayhooks.messages",
    "chat_messages_from_openai_response": "hayhooks.messages",
    "chat_messages_from_openai": "hayhooks.messages",
    "get_input_files": "hayhooks.messages",
    "default_on_tool_call_start": "hayhooks.callbacks",
    "default_on_tool_call_end": "hayhooks.callbacks",
    "default_on_pipeline_end": "hayhooks.callbacks",
    "PipelineEvent": "hayhooks.events",
    "create_status_event": "hayhooks.events",
    "create_notification_event": "hayhooks.events",
    "create_details_tag": "hayhooks.open_webui",
    "coerce_pipeline_inputs": "hayhooks.coercion",
    "YAMLPipelineWrapper": "hayhooks.deploy.yaml_pipeline",
    "run_app": "hayhooks.process",
    "get_request_context": "hayhooks.context",
    "RequestContext": "hayhooks.context",
    "create_app": "hayhooks.server.app",
    "DurableContext": "hayhooks.durable.context",
    "current_durable_context": "hayhooks.durable.context",
    "durable_streaming_callback": "hayhooks.durable.context",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    try:
        module_name = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'hayhooks' has no attribute {name!r}") from None
    value = getattr(import_module(module_name), name)
    globals()[name] = value
    return value
