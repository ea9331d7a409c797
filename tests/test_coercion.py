"""``coerce_pipeline_inputs``: pydantic models, stdlib dataclasses and Haystack dataclasses built from JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from haystack import Pipeline, component
from haystack.dataclasses import ChatMessage, ExtractedAnswer, GeneratedAnswer
from pydantic import BaseModel

from hayhooks import coerce_pipeline_inputs


class Point(BaseModel):
    x: int
    y: int


@dataclass
class Tag:
    name: str
    weight: float


class Thread(BaseModel):
    messages: list[ChatMessage]


@component
class Echo:
    def __init__(self, type_: Any) -> None:
        component.set_input_types(self, value=type_)
        component.set_output_types(self, value=Any)

    def run(self, **kwargs: Any) -> dict[str, Any]:
        return {"value": kwargs.get("value")}


def _pipeline(type_: Any) -> Pipeline:
    pipe = Pipeline()
    pipe.add_component("echo", Echo(type_))
    return pipe


@pytest.mark.parametrize(
    ("type_", "payload", "expected"),
    [
        (Point, {"x": 1, "y": 2}, Point(x=1, y=2)),
        (Tag, {"name": "a", "weight": 0.5}, Tag("a", 0.5)),
        (list[Point], [{"x": 1, "y": 2}], [Point(x=1, y=2)]),
        (Tag | None, {"name": "b", "weight": 1.0}, Tag("b", 1.0)),
    ],
)
def test_models_and_dataclasses_are_built_from_dicts(type_: Any, payload: Any, expected: Any) -> None:
    coerced = coerce_pipeline_inputs(_pipeline(type_), {"echo": {"value": payload}})
    assert coerced["echo"]["value"] == expected


def test_pydantic_model_holding_haystack_objects() -> None:
    thread = Thread(messages=[ChatMessage.from_user("Hi")])
    payload = Thread.model_validate(thread).model_dump(mode="json")
    coerced = coerce_pipeline_inputs(_pipeline(Thread), {"value": payload})
    assert coerced["value"] == thread


def test_a_union_of_two_coercible_classes_refuses_a_dict_but_keeps_instances() -> None:
    pipe = _pipeline(GeneratedAnswer | ExtractedAnswer)
    answer = GeneratedAnswer(data="a", query="q", documents=[])
    with pytest.raises(ValueError, match="multiple deserializable members"):
        coerce_pipeline_inputs(pipe, {"echo": {"value": answer.to_dict()}})
    assert coerce_pipeline_inputs(pipe, {"echo": {"value": answer}})["echo"]["value"] is answer


def test_plain_values_pass_through() -> None:
    assert coerce_pipeline_inputs(_pipeline(Point), {"echo": {"value": 3}}) == {"echo": {"value": 3}}
