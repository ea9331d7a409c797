"""Helpers for the messages OpenAI clients send: pick the user's question, convert to Haystack ``ChatMessage``.

- Chat Completions: ``messages`` is a list of ``{"role", "content"}`` dicts (``content`` a string or a list of
  parts); ``get_last_user_message`` and ``chat_messages_from_openai`` work on it.
- Responses API: ``input_items`` is a list of typed items (messages, ``function_call``, ``function_call_output``);
  ``get_last_user_input_text``, ``get_input_files`` and ``chat_messages_from_openai_response`` work on it.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from haystack.dataclasses import ChatMessage, ToolCall

logger = logging.getLogger("hayhooks.messages")


def _field(message: Any, name: str, default: Any = None) -> Any:
    if isinstance(message, dict):
        return message.get(name, default)
    return getattr(message, name, default)


def is_user_message(message: Any) -> bool:
    """Whether an OpenAI message (a dict or an object with ``role``) comes from the user."""
    return _field(message, "role") == "user"


def _parts_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = [part.get("text") for part in content if isinstance(part, dict)]
    return "\n".join(text for text in texts if isinstance(text, str) and text)


def get_content(message: Any) -> str:
    """The text of a message: a string ``content`` as is, the text parts of a list ``content`` joined."""
    content = _field(message, "content", "")
    return content if isinstance(content, str) else _parts_text(content)


def get_last_user_message(messages: list[Any]) -> str | None:
    """Text of the last user message, or ``None`` when there is none."""
    for message in reversed(messages):
        if is_user_message(message):
            return get_content(message)
    return None


def chat_messages_from_openai(messages: list[dict[str, Any]]) -> list[ChatMessage]:
    """Chat Completions ``messages`` as Haystack ``ChatMessage``s (tool calls and tool results included).

    A message Haystack cannot convert as is (e.g. an image given by URL) keeps its text parts.
    """
    converted: list[ChatMessage] = []
    for message in messages:
        try:
            converted.append(ChatMessage.from_openai_dict_format(message))
        except (ValueError, KeyError, TypeError):
            fallback = _text_message(str(message.get("role", "")), _parts_text(message.get("content")))
            if fallback is not None:
                converted.append(fallback)
    return converted


# --- Responses API -----------------------------------------------------------------------------------------------
def get_last_user_input_text(input_items: list[dict[str, Any]]) -> str | None:
    """Text of the last user message in Responses API ``input_items`` (its last ``input_text`` part)."""
    for item in reversed(input_items):
        if not isinstance(item, dict) or item.get("role") != "user" or item.get("type") not in ("message", None):
            continue
        content = item.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            for part in reversed(content):
                if isinstance(part, dict) and part.get("type") in ("input_text", "text"):
                    text = part.get("text")
                    return text if isinstance(text, str) else None
    return None


def get_input_files(input_items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every ``input_file`` part (with a ``file_id``) of the user messages in ``input_items``."""
    files: list[dict[str, Any]] = []
    for item in input_items:
        if not isinstance(item, dict) or item.get("role") != "user" or not isinstance(item.get("content"), list):
            continue
        for part in item["content"]:
            if isinstance(part, dict) and part.get("type") == "input_file" and part.get("file_id"):
                files.append(part)
    return files


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str) and raw.strip():
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _call_id(item: dict[str, Any]) -> str | None:
    for key in ("call_id", "id"):
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _text_message(role: str, text: str) -> ChatMessage | None:
    if not text:
        return None
    if role == "user":
        return ChatMessage.from_user(text)
    if role in ("system", "developer"):
        return ChatMessage.from_system(text)
    if role == "assistant":
        return ChatMessage.from_assistant(text)
    return None


def chat_messages_from_openai_response(input_items: list[dict[str, Any]]) -> list[ChatMessage]:
    """Responses API ``input_items`` as Haystack ``ChatMessage``s.

    Messages (user, system/developer, assistant) keep their text; ``function_call`` items become assistant tool
    calls and ``function_call_output`` items tool results tied to the call with the same ``call_id``.
    """
    messages: list[ChatMessage] = []
    calls: dict[str, ToolCall] = {}
    for item in input_items:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "function_call":
            call_id = _call_id(item) or f"call_{uuid.uuid4().hex[:24]}"
            name, arguments = item.get("name") or "function", _arguments(item.get("arguments"))
            call = ToolCall(tool_name=name, arguments=arguments, id=call_id)
            calls[call_id] = call
            messages.append(ChatMessage.from_assistant(tool_calls=[call]))
        elif kind == "function_call_output":
            call_id = _call_id(item)
            output = item.get("output", "")
            text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
            origin = calls.get(call_id or "") or ToolCall(tool_name="function", arguments={}, id=call_id)
            messages.append(ChatMessage.from_tool(tool_result=text, origin=origin))
        else:
            message = _text_message(str(item.get("role", "")), _parts_text(item.get("content")))
            if message is not None:
                messages.append(message)
    return messages


__all__ = [
    "chat_messages_from_openai",
    "chat_messages_from_openai_response",
    "get_content",
    "get_input_files",
    "get_last_user_input_text",
    "get_last_user_message",
    "is_user_message",
]
