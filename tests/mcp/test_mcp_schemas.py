"""Tool schemas and result rendering, checked directly (no server needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from haystack.dataclasses import Document, StreamingChunk
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from hayhooks.server.mcp.results import render
from hayhooks.server.mcp.schemas import DeployPipelineArguments, describe_validation_error, object_schema
from hayhooks.signature import build_run_signature
from hayhooks.streaming import SSEStream


class Node(BaseModel):
    label: str
    children: list[Node] = []


class Leaf(BaseModel):
    value: int


def test_nested_models_are_inlined_and_recursive_ones_keep_their_defs() -> None:
    def run_api(self, leaf: Leaf, tree: Node | None = None) -> str:  # noqa: ANN001
        """Walk a tree.

        Args:
            leaf: A leaf.
            tree: A tree.
        """
        return ""

    signature = build_run_signature("walker", run_api)
    schema = object_schema(signature.request_model, tool_name="walker")
    assert schema["properties"]["leaf"]["properties"]["value"]["type"] == "integer"
    assert schema["properties"]["leaf"]["description"] == "A leaf."
    assert schema["required"] == ["leaf"]
    assert set(schema["$defs"]) >= {"Node"}  # the recursive model stays referenced
    assert "Node" in str(schema["properties"]["tree"])


def test_a_model_without_a_json_schema_still_gives_an_object_schema() -> None:
    class Opaque:
        pass

    model = create_model("OpaqueArgs", __config__=ConfigDict(arbitrary_types_allowed=True), thing=(Opaque, ...))
    assert object_schema(model, tool_name="opaque") == {"type": "object"}


def test_validation_errors_name_nested_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        DeployPipelineArguments.model_validate({"name": "x", "files": [{"name": "a.py"}]})
    assert describe_validation_error(caught.value) == "files.0.content: Field required"


def test_deploy_arguments_reject_duplicate_file_names() -> None:
    files = [{"name": "pipeline_wrapper.py", "content": "a"}, {"name": "pipeline_wrapper.py", "content": "b"}]
    with pytest.raises(ValidationError, match="duplicate file name"):
        DeployPipelineArguments.model_validate({"name": "x", "files": files})


def _words() -> Iterator[str]:
    yield from ("a", "b", "c")


async def _async_chunks() -> AsyncIterator[StreamingChunk]:
    for word in ("x", "y"):
        yield StreamingChunk(content=word)


class Answer(BaseModel):
    text: str
    score: float


async def test_results_render_as_text_and_json() -> None:
    assert (await render("plain")).content[0].text == "plain"
    assert (await render(_words())).content[0].text == "abc"
    assert (await render(_async_chunks())).content[0].text == "xy"
    assert (await render(SSEStream(_words()))).content[0].text == "abc"

    model = await render(Answer(text="hi", score=0.5))
    assert model.content[0].text == '{"text": "hi", "score": 0.5}'
    assert model.structured_content == {"text": "hi", "score": 0.5}

    documents = await render({"documents": [Document(id="1", content="doc")]})
    assert documents.structured_content["documents"][0]["content"] == "doc"

    listing = await render([1, 2])
    assert listing.content[0].text == "[1, 2]" and listing.structured_content is None
