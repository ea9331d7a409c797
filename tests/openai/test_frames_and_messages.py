"""Frame encoders checked against the ``openai`` SDK's own models, and the message helpers."""

from __future__ import annotations

import json

from haystack.dataclasses import ChatMessage, ReasoningContent, StreamingChunk, ToolCall, ToolCallDelta
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from hayhooks import (
    chat_messages_from_openai_response,
    get_last_user_input_text,
    get_last_user_message,
    is_user_message,
)
from hayhooks.callbacks import create_status_event
from hayhooks.messages import chat_messages_from_openai, get_input_files
from hayhooks.server.openai.chat_frames import ChatCollector, ChatStreamEncoder
from hayhooks.server.openai.responses_frames import ResponsesEncoder

EVENTS = TypeAdapter(ResponseStreamEvent)


def frames(text: str) -> list:
    """The data of every SSE event in ``text`` (JSON-decoded; ``[DONE]`` kept as is)."""
    payloads = []
    for block in text.split("\n\n"):
        data = next((line[6:] for line in block.split("\n") if line.startswith("data: ")), None)
        if data is not None:
            payloads.append(data if data == "[DONE]" else json.loads(data))
    return payloads


def tool_chunk(index: int, call_id: str | None = None, name: str | None = None, arguments: str | None = None):
    return StreamingChunk(
        content="",
        index=index,
        tool_calls=[ToolCallDelta(index=index, id=call_id, tool_name=name, arguments=arguments)],
    )


def test_chat_frames_match_the_sdk_models() -> None:
    encoder = ChatStreamEncoder("chatcmpl-1", "my-pipe", 1700000000, include_usage=True)
    items = [
        'quote " backslash \\ newline \n unicode é 漢字',
        StreamingChunk(content="", index=0, reasoning=ReasoningContent(reasoning_text="thinking")),
        tool_chunk(0, "call_a", "lookup", '{"q": '),
        tool_chunk(0, arguments='"x"}'),
        create_status_event("working"),
        None,
        StreamingChunk(content="", meta={"usage": {"prompt_tokens": 2, "completion_tokens": 5, "total_tokens": 7}}),
    ]
    text = "".join(encoder.feed(item) for item in items) + encoder.finish()
    payloads = frames(text)
    assert payloads[-1] == "[DONE]"
    event = payloads[4]
    assert event == {"event": {"type": "status", "data": {"description": "working", "done": False, "hidden": False}}}
    chunks = [ChatCompletionChunk.model_validate(p) for p in payloads[:-1] if "choices" in p]
    assert all(chunk.choices[0].delta.role == "assistant" for chunk in chunks if chunk.choices)
    assert chunks[0].choices[0].delta.content == items[0]
    assert chunks[1].choices[0].delta.model_extra["reasoning_content"] == "thinking"
    first_call = chunks[2].choices[0].delta.tool_calls[0]
    assert (first_call.index, first_call.id, first_call.type) == (0, "call_a", "function")
    assert first_call.function.name == "lookup"
    assert chunks[3].choices[0].delta.tool_calls[0].function.arguments == '"x"}'
    assert chunks[3].choices[0].delta.tool_calls[0].id is None
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 7


def test_empty_answer_still_carries_the_role() -> None:
    encoder = ChatStreamEncoder("chatcmpl-2", "m", 1, include_usage=True)
    payloads = frames(encoder.finish())
    chunk = ChatCompletionChunk.model_validate(payloads[0])
    assert chunk.choices[0].delta.role == "assistant" and chunk.choices[0].finish_reason == "stop"
    assert payloads[1:] == ["[DONE]"]  # usage unknown: no usage chunk


def test_tool_calls_of_later_turns_get_new_indexes() -> None:
    collector = ChatCollector()
    for item in [
        tool_chunk(0, "call_1", "a", "{}"),
        "Thinking... ",
        tool_chunk(0, "call_2", "b", "{"),
        tool_chunk(0, arguments="}"),
        StreamingChunk(content="", finish_reason="tool_calls"),
    ]:
        collector.feed(item)
    completion = ChatCompletion.model_validate(collector.completion("chatcmpl-3", "m", 1))
    message = completion.choices[0].message
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls] == [
        ("call_1", "a", "{}"),
        ("call_2", "b", "{}"),
    ]
    assert message.content == "Thinking... "
    assert completion.choices[0].finish_reason == "tool_calls"


def test_chat_message_results_are_understood() -> None:
    collector = ChatCollector()
    call = ToolCall(tool_name="lookup", arguments={"q": "x"}, id="call_9")
    collector.feed(ChatMessage.from_assistant("answer", tool_calls=[call]))
    message = ChatCompletion.model_validate(collector.completion("c", "m", 1)).choices[0].message
    assert message.content == "answer"
    assert json.loads(message.tool_calls[0].function.arguments) == {"q": "x"}


def test_responses_events_match_the_sdk_models() -> None:
    encoder = ResponsesEncoder("resp_1", "my-pipe", 1700000000, {"instructions": "be nice", "stream": True})
    text = encoder.start()
    for item in [
        StreamingChunk(content="", index=0, reasoning=ReasoningContent(reasoning_text="hmm")),
        "Hello ",
        "world",
        tool_chunk(0, "call_a", "lookup", '{"q":'),
        tool_chunk(0, arguments=" 1}"),
        "after",
    ]:
        text += encoder.feed(item)
    text += encoder.finish()
    events = [EVENTS.validate_python(payload) for payload in frames(text)]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    names = [event.type for event in events]
    assert names[0] == "response.created" and names[-1] == "response.completed"
    assert names.count("response.output_item.added") == 4 == names.count("response.output_item.done")
    added = [event.output_index for event in events if event.type == "response.output_item.added"]
    assert added == [0, 1, 2, 3]
    final = events[-1].response
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call", "message"]
    assert final.output_text == "Hello worldafter"
    assert final.output[2].arguments == '{"q": 1}' and final.output[2].call_id == "call_a"
    assert final.instructions == "be nice"
    for block in text.split("\n\n")[:-1]:
        event_line, data_line = block.split("\n")
        assert event_line == f"event: {json.loads(data_line[6:])['type']}"


def test_responses_failure_and_non_streaming_object() -> None:
    encoder = ResponsesEncoder("resp_2", "m", 1, {})
    text = encoder.start() + encoder.feed("partial") + encoder.error("it broke")
    events = [EVENTS.validate_python(payload) for payload in frames(text)]
    assert [e.type for e in events][-2:] == ["error", "response.failed"]
    assert events[-1].response.error.message == "it broke"
    collector = ResponsesEncoder("resp_3", "m", 1, {})
    for item in ["a", "b", StreamingChunk(content="", meta={"usage": {"prompt_tokens": 1, "completion_tokens": 2}})]:
        collector.feed(item)
    response = Response.model_validate(collector.completed())
    assert response.output_text == "ab" and response.usage.total_tokens == 3


# --- message helpers --------------------------------------------------------------------------------------------
def test_chat_completion_message_helpers() -> None:
    messages = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "reply"},
        {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "image_url", "image_url": {}}]},
    ]
    assert get_last_user_message(messages) == "second"
    assert get_last_user_message(messages[:2]) == "first"
    assert get_last_user_message([{"role": "system", "content": "x"}]) is None
    assert is_user_message(messages[1]) and not is_user_message(messages[0])
    converted = chat_messages_from_openai(
        [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "result"},
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "https://example.invalid/x.png"}},
                    {"type": "text", "text": "what is this"},
                ],
            },
        ]
    )
    assert [m.role.value for m in converted] == ["system", "user", "assistant", "tool", "user"]
    assert converted[2].tool_calls[0].arguments == {"a": 1}
    assert converted[3].tool_call_results[0].result == "result"
    assert converted[4].text == "what is this"


def test_responses_input_helpers() -> None:
    items = [
        {"type": "message", "role": "developer", "content": "be nice"},
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "read this"}, {"type": "input_file", "file_id": "file-1"}],
        },
        {"type": "function_call", "call_id": "call_1", "name": "read", "arguments": '{"path": "a"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "contents"},
        {"role": "user", "content": "and now?"},
    ]
    assert get_last_user_input_text(items) == "and now?"
    assert get_last_user_input_text(items[:2]) == "read this"
    assert get_input_files(items) == [{"type": "input_file", "file_id": "file-1"}]
    messages = chat_messages_from_openai_response(items)
    assert [m.role.value for m in messages] == ["system", "user", "assistant", "tool", "user"]
    call = messages[2].tool_calls[0]
    assert (call.tool_name, call.arguments, call.id) == ("read", {"path": "a"}, "call_1")
    result = messages[3].tool_call_results[0]
    assert result.result == "contents" and result.origin.tool_name == "read"
