"""YAML pipelines: Haystack pipeline YAML plus ``inputs`` and ``outputs`` declarations.

``inputs`` maps a request field to ``component.field`` (or a list of them, which all receive the value);
``outputs`` maps a result name to ``component.field`` (written as a list, its first entry). Results are keyed by
component, then field, as Hayhooks returns them, and every declared output is included even when its component
feeds another one. Optional top-level keys ``description``, ``streaming_components``, ``request_timeout``,
``max_concurrent_runs`` and ``max_queued_runs`` configure the deployed pipeline.
"""

from __future__ import annotations

import functools
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field, create_model

from hayhooks.deploy.errors import InvalidPipelineError
from hayhooks.signature import RunSignature, model_name
from hayhooks.stream_setup import parse_streaming_components
from hayhooks.wrapper import BasePipelineWrapper

if TYPE_CHECKING:
    from haystack import Pipeline

_UNNAMED = "yaml_pipeline"  # the name a wrapper built from bare YAML source goes by in messages
SETTINGS_KEYS = ("description", "streaming_components", "request_timeout", "max_concurrent_runs", "max_queued_runs")
_HAYHOOKS_KEYS = ("inputs", "outputs", *SETTINGS_KEYS)


@dataclass(frozen=True)
class YamlDefinition:
    pipeline_data: dict[str, Any]
    inputs: dict[str, list[tuple[str, str]]]
    outputs: dict[str, tuple[str, str]]
    options: dict[str, Any]


def _split_target(pipeline_name: str, key: str, target: Any) -> tuple[str, str]:
    if not isinstance(target, str) or target.count(".") < 1:
        raise InvalidPipelineError(
            f"YAML pipeline '{pipeline_name}': {key} must be written as 'component.field', got {target!r}."
        )
    component, field = target.split(".", 1)
    return component, field


def _first_if_list(target: Any) -> Any:
    """An output names one socket; written as a list (as inputs are), its first entry is that socket, as in
    Hayhooks 2.1.0."""
    return target[0] if isinstance(target, list) and target else target


def parse_yaml(pipeline_name: str, source: str) -> YamlDefinition:
    import yaml  # like Haystack, loaded with the first YAML pipeline

    safe_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when built in, is ~8x faster
    try:
        data = yaml.load(source, Loader=safe_loader)
    except yaml.YAMLError as exc:
        raise InvalidPipelineError(f"YAML pipeline '{pipeline_name}' is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidPipelineError(f"YAML pipeline '{pipeline_name}' must be a mapping with 'components'.")
    missing = [key for key in ("inputs", "outputs") if not data.get(key)]
    if missing:
        raise InvalidPipelineError(
            f"YAML pipeline '{pipeline_name}' has no {' or '.join(repr(m) for m in missing)} section: declare "
            "'inputs' (request field -> component.field) and 'outputs' (result name -> component.field)."
        )
    if not isinstance(data["inputs"], dict) or not isinstance(data["outputs"], dict):
        raise InvalidPipelineError(f"YAML pipeline '{pipeline_name}': 'inputs' and 'outputs' must be mappings.")
    inputs = {
        str(name): [
            _split_target(pipeline_name, f"input '{name}'", t)
            for t in (targets if isinstance(targets, list) else [targets])
        ]
        for name, targets in data["inputs"].items()
    }
    outputs = {
        str(name): _split_target(pipeline_name, f"output '{name}'", _first_if_list(t))
        for name, t in data["outputs"].items()
    }
    options = {key: data[key] for key in SETTINGS_KEYS if key in data}
    pipeline_data = {k: v for k, v in data.items() if k not in _HAYHOOKS_KEYS}
    return YamlDefinition(pipeline_data, inputs, outputs, options)


def build_pipeline(pipeline_name: str, definition: YamlDefinition) -> Pipeline:
    from haystack import Pipeline  # imported with the first YAML pipeline: a server without any never pays for it

    try:
        return Pipeline.from_dict(definition.pipeline_data)
    except Exception as exc:
        raise InvalidPipelineError(f"YAML pipeline '{pipeline_name}' could not be built: {exc}") from exc


def check_sockets(pipeline_name: str, pipeline: Pipeline, definition: YamlDefinition) -> dict[str, Any]:
    """Check every declared input/output names a real component socket; return the input types."""
    all_inputs = pipeline.inputs(include_components_with_connected_inputs=True)
    all_outputs = pipeline.outputs(include_components_with_connected_outputs=True)
    components = {name for name, _ in pipeline.walk()}
    input_types: dict[str, Any] = {}
    for name, targets in definition.inputs.items():
        for component, field in targets:
            if component not in components:
                raise InvalidPipelineError(
                    f"YAML pipeline '{pipeline_name}': input '{name}' names unknown component '{component}'."
                )
            socket = all_inputs.get(component, {}).get(field)
            if socket is None:
                known = ", ".join(sorted(all_inputs.get(component, {}))) or "none"
                raise InvalidPipelineError(
                    f"YAML pipeline '{pipeline_name}': input '{name}' names unknown field '{field}' of component "
                    f"'{component}' (its inputs: {known})."
                )
            input_types.setdefault(name, socket["type"])
    for name, (component, field) in definition.outputs.items():
        if component not in components:
            raise InvalidPipelineError(
                f"YAML pipeline '{pipeline_name}': output '{name}' names unknown component '{component}'."
            )
        if field not in all_outputs.get(component, {}):
            known = ", ".join(sorted(all_outputs.get(component, {}))) or "none"
            raise InvalidPipelineError(
                f"YAML pipeline '{pipeline_name}': output '{name}' names unknown field '{field}' of component "
                f"'{component}' (its outputs: {known})."
            )
    return input_types


class YAMLPipelineWrapper(BasePipelineWrapper):
    """Serves a YAML pipeline through the same machinery as code wrappers."""

    def __init__(self, pipeline_name: str, definition: YamlDefinition) -> None:
        super().__init__()
        self.pipeline_name = pipeline_name
        self.definition = definition
        self.include_outputs_from = {component for component, _ in definition.outputs.values()}
        self.input_types: dict[str, Any] = {}

    @classmethod
    def from_yaml(cls, source_code: str, description: str | None = None) -> YAMLPipelineWrapper:
        """A wrapper for YAML ``source_code`` (call ``setup()`` to build the pipeline), as in Hayhooks 2.1.0."""
        definition = parse_yaml(_UNNAMED, source_code)
        if description is not None:
            definition.options["description"] = description
        return cls(_UNNAMED, definition)

    @classmethod
    def from_file(cls, yaml_path: str | os.PathLike[str], description: str | None = None) -> YAMLPipelineWrapper:
        """A wrapper for the YAML file at ``yaml_path``, named after the file."""
        path = Path(yaml_path)
        definition = parse_yaml(path.stem, path.read_text(encoding="utf-8"))
        if description is not None:
            definition.options["description"] = description
        return cls(path.stem, definition)

    @property
    def description(self) -> str | None:
        value = self.definition.options.get("description")
        return None if value is None else str(value)

    def setup(self) -> None:
        self.pipeline = build_pipeline(self.pipeline_name, self.definition)
        self.input_types = check_sockets(self.pipeline_name, self.pipeline, self.definition)

    def pipeline_data(self, fields: dict[str, Any]) -> dict[str, dict[str, Any]]:
        data: dict[str, dict[str, Any]] = defaultdict(dict)
        for name, value in fields.items():
            for component, field in self.definition.inputs[name]:
                data[component][field] = value
        return data

    def shape_result(self, raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Every output of each component named under ``outputs`` (as Hayhooks answers), keyed by component."""
        return {component: raw[component] for component in self.include_outputs_from if component in raw}

    # Sync only: the server runs it on one of its worker threads. Haystack's ``run_async`` would hand every sync
    # component to a thread of its own executor and costs several times more per run.
    def run_api(self, **fields: Any) -> dict:
        raw = self.pipeline.run(self.pipeline_data(fields), include_outputs_from=self.include_outputs_from)
        return self.shape_result(raw)

    def run_signature(self) -> RunSignature:
        fields = {
            name: (
                self.input_types.get(name, Any),
                Field(..., description=f"Sent to {', '.join(f'{c}.{f}' for c, f in targets)}"),
            )
            for name, targets in self.definition.inputs.items()
        }
        request_model = create_model(
            model_name(self.pipeline_name, "RunRequest"), __config__=ConfigDict(arbitrary_types_allowed=True), **fields
        )
        response_model = functools.partial(
            create_model,
            model_name(self.pipeline_name, "RunResponse"),
            result=(dict, Field(..., description="Outputs by component")),
        )
        description = str(
            self.definition.options.get("description") or f"Run the '{self.pipeline_name}' YAML pipeline."
        )
        param_docs = {name: field.description or "" for name, (_, field) in fields.items()}
        return RunSignature(request_model, response_model, (), description, param_docs)


def get_streaming_components_from_yaml(yaml_source_code: str) -> list[str] | str | None:
    """The YAML's ``streaming_components`` key: ``None`` when absent (the last streaming-capable component
    streams), ``"all"``, or the component names (Hayhooks 2.1.0's ``yaml_utils`` function)."""
    return parse_streaming_components(parse_yaml(_UNNAMED, yaml_source_code).options.get("streaming_components"))
