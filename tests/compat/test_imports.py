"""Every name and module a Hayhooks 2.1.0 wrapper or app imports resolves and gives 2.1.0's outputs."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from haystack.dataclasses import ChatMessage, Document
from pydantic import BaseModel

TOP_LEVEL = [
    "AsyncPipeline",
    "BasePipelineWrapper",
    "Pipeline",
    "PipelineEvent",
    "SSEStream",
    "YAMLPipelineWrapper",
    "async_streaming_generator",
    "chat_messages_from_openai_response",
    "coerce_pipeline_inputs",
    "create_app",
    "default_on_pipeline_end",
    "default_on_tool_call_end",
    "default_on_tool_call_start",
    "get_input_files",
    "get_last_user_input_text",
    "get_last_user_message",
    "is_user_message",
    "log",
    "run_app",
    "streaming_generator",
]

MODULE_NAMES = {
    "hayhooks.open_webui": [
        "OpenWebUIEvent",
        "MessageEventData",
        "StatusEventData",
        "NotificationEventData",
        "PipelineEvent",
        "create_status_event",
        "create_notification_event",
        "create_message_event",
        "create_replace_event",
        "create_source_event",
        "create_chat_completion_event",
        "create_details_tag",
    ],
    "hayhooks.events": [
        "PipelineEvent",
        "StatusEventData",
        "NotificationEventData",
        "create_status_event",
        "create_notification_event",
    ],
    "hayhooks.callbacks": ["default_on_pipeline_end", "default_on_tool_call_start", "default_on_tool_call_end"],
    "hayhooks.chainlit_events": ["ChainlitEvent", "create_custom_element_event"],
    "hayhooks.testing.components": ["Hello"],
    "hayhooks.server.app": ["create_app", "run_app", "app"],
    "hayhooks.server.utils.base_pipeline_wrapper": ["BasePipelineWrapper"],
    "hayhooks.server.logger": ["log"],
    "hayhooks.server.pipelines.utils": [
        "streaming_generator",
        "async_streaming_generator",
        "get_last_user_message",
        "get_last_user_input_text",
        "get_input_files",
        "is_user_message",
        "chat_messages_from_openai_response",
        "coerce_pipeline_inputs",
        "find_all_streaming_components",
    ],
    "hayhooks.server.pipelines.sse": ["SSEStream"],
    "hayhooks.server.utils.yaml_pipeline_wrapper": ["YAMLPipelineWrapper"],
    "hayhooks.server.tracing": ["trace_operation", "build_trace_tags"],
    "hayhooks.cli": ["hayhooks_cli"],
    "hayhooks.cli.base": ["hayhooks_cli"],
    "hayhooks.server.utils.mcp_utils": ["create_mcp_server", "create_starlette_app", "list_pipelines_as_tools"],
    "hayhooks.settings": [
        "settings",
        "AppSettings",
        "StartupDeployStrategy",
        "DeployConcurrencyPolicy",
        "check_cors_settings",
    ],
    "hayhooks.server.exceptions": [
        "PipelineAlreadyExistsError",
        "PipelineNotFoundError",
        "PipelineFilesError",
        "PipelinePathError",
        "PipelineWrapperError",
        "PipelineModuleLoadError",
        "PipelineYamlError",
        "InvalidYamlIOError",
    ],
    "hayhooks.server.routers.deploy": ["DeployResponse", "PipelineFilesRequest", "YamlDeployRequest", "router"],
    "hayhooks.server.routers.undeploy": ["UndeployResponse", "router"],
    "hayhooks.server.routers.status": ["PipelineStatusResponse", "router"],
    "hayhooks.server.routers.openai": ["ChatRequest", "ResponseRequest", "ModelsResponse", "router"],
    "hayhooks.server.utils.deploy_utils": [
        "deploy_pipeline_files",
        "deploy_pipeline_yaml",
        "undeploy_pipeline",
        "deploy_pipelines",
        "read_pipeline_files_from_dir",
    ],
    "hayhooks.server.utils.yaml_utils": ["get_streaming_components_from_yaml"],
    "hayhooks.server.utils.pipeline_paths": ["validate_pipeline_name"],
}


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_names(name: str) -> None:
    import hayhooks

    assert getattr(hayhooks, name) is not None


@pytest.mark.parametrize("module", sorted(MODULE_NAMES))
def test_module_names(module: str) -> None:
    loaded = importlib.import_module(module)
    for name in MODULE_NAMES[module]:
        assert getattr(loaded, name) is not None, f"{module}.{name}"


def test_old_paths_are_aliases_not_copies() -> None:
    from hayhooks.server.logger import log
    from hayhooks.server.pipelines.sse import SSEStream
    from hayhooks.server.pipelines.utils import streaming_generator
    from hayhooks.server.utils.base_pipeline_wrapper import BasePipelineWrapper

    import hayhooks
    import hayhooks.logger
    import hayhooks.streaming
    import hayhooks.wrapper

    assert sys.modules["hayhooks.server.logger"] is hayhooks.logger
    assert sys.modules["hayhooks.server.utils.base_pipeline_wrapper"] is hayhooks.wrapper
    assert hayhooks.wrapper.__spec__.name == "hayhooks.wrapper"  # the real module keeps its own spec
    assert log is hayhooks.log and BasePipelineWrapper is hayhooks.BasePipelineWrapper
    assert SSEStream is hayhooks.streaming.SSEStream and streaming_generator is hayhooks.streaming_generator
    with pytest.raises(ImportError):
        from hayhooks.server.pipelines.utils import not_a_name  # noqa: F401
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("hayhooks.server.utils.not_a_module")


def test_the_cli_object_runs_commands() -> None:
    from hayhooks.cli.base import hayhooks_cli
    from typer.testing import CliRunner

    result = CliRunner().invoke(hayhooks_cli, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("hayhooks ")


def test_log_is_loguru() -> None:
    from loguru import logger

    from hayhooks import log

    assert log is logger
    for method in ("trace", "success", "opt", "bind", "add", "remove"):
        assert callable(getattr(log, method))


def test_settings_is_one_lazily_loaded_instance() -> None:
    from hayhooks.settings import AppSettings, get_settings, settings

    assert isinstance(settings, AppSettings) and settings is get_settings()


def test_events_are_pydantic_with_2_1_0_dumps() -> None:
    from hayhooks import PipelineEvent
    from hayhooks.chainlit_events import create_custom_element_event
    from hayhooks.open_webui import (
        OpenWebUIEvent,
        create_chat_completion_event,
        create_message_event,
        create_notification_event,
        create_replace_event,
        create_source_event,
        create_status_event,
    )

    assert issubclass(PipelineEvent, BaseModel) and issubclass(OpenWebUIEvent, PipelineEvent)
    cases = [
        (
            create_status_event("s", done=True),
            {"type": "status", "data": {"description": "s", "done": True, "hidden": False}},
        ),
        (create_notification_event("n", "error"), {"type": "notification", "data": {"type": "error", "content": "n"}}),
        (create_message_event("m"), {"type": "message", "data": {"content": "m"}}),
        (create_replace_event("r"), {"type": "replace", "data": {"content": "r"}}),
        (create_source_event({"a": 1}), {"type": "source", "data": {"a": 1}}),
        (create_chat_completion_event({"x": 2}), {"type": "chat:completion", "data": {"x": 2}}),
        (
            create_custom_element_event("El", {"p": 1}),
            {"type": "custom_element", "data": {"name": "El", "props": {"p": 1}}},
        ),
        (PipelineEvent(type="x", data={"k": 1}), {"type": "x", "data": {"k": 1}}),
    ]
    for event, expected in cases:
        assert event.model_dump() == expected
        assert event.to_dict() == expected and event.to_event_dict() == expected


def test_callbacks_text_matches_2_1_0() -> None:
    from hayhooks import default_on_pipeline_end, default_on_tool_call_end, default_on_tool_call_start

    assert default_on_pipeline_end(None) == ""
    assert default_on_pipeline_end("x") == "x"
    assert default_on_pipeline_end({"a": 1}) == '{"a": 1}'
    assert default_on_pipeline_end((1, "a")) == '[1, "a"]'
    assert default_on_pipeline_end(True) == "True"
    assert default_on_pipeline_end({"s": {1, 2}}) == "{'s': {1, 2}}"  # not JSON: as str()
    assert default_on_pipeline_end({"\u00fc": "\u00e9"}) == '{"\\u00fc": "\\u00e9"}'
    replies = {"llm": {"replies": [ChatMessage.from_assistant("hello")]}}
    assert default_on_pipeline_end(replies) == (
        '{"llm": {"replies": [' + __import__("json").dumps(ChatMessage.from_assistant("hello").to_dict()) + "]}}"
    )
    assert default_on_pipeline_end(Document(id="d1", content="c")).startswith('{"id": "d1", "content": "c"')

    assert default_on_tool_call_start("", None, None) is None
    assert default_on_tool_call_start("search", "{}", "c1").model_dump() == {
        "type": "status",
        "data": {"description": "Calling 'search' tool...", "done": False, "hidden": False},
    }
    done, details = default_on_tool_call_end("search", {"q": 1}, "found", False)
    assert done.model_dump()["data"] == {"description": "Called 'search' tool", "done": True, "hidden": False}
    assert details == (
        '<details type="search" done="true">\n<summary>Tool call result for \'search\'</summary>\n\n'
        "```\nArguments:\n{'q': 1}\n\nResponse:\nfound\n```\n</details>\n\n"
    )
    hidden, notification = default_on_tool_call_end("search", {}, "oops", True)
    assert hidden.model_dump()["data"]["hidden"] is True
    assert notification.model_dump() == {
        "type": "notification",
        "data": {"type": "error", "content": "Error calling 'search' tool"},
    }


def test_coerce_pipeline_inputs_builds_haystack_types() -> None:
    from haystack import Pipeline
    from haystack.components.builders import ChatPromptBuilder

    from hayhooks import coerce_pipeline_inputs

    pipeline = Pipeline()
    pipeline.add_component("prompt", ChatPromptBuilder(template=[ChatMessage.from_user("{{q}}")]))
    raw = [{"role": "user", "content": [{"text": "hi"}]}]
    nested = coerce_pipeline_inputs(pipeline, {"prompt": {"template": raw, "q": "a"}})
    flat = coerce_pipeline_inputs(pipeline, {"template": raw, "q": "a"})
    assert nested == {"prompt": {"template": [ChatMessage.from_user("hi")], "q": "a"}}
    assert flat == {"template": [ChatMessage.from_user("hi")], "q": "a"}


def test_yaml_pipeline_wrapper_from_yaml_and_from_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hayhooks import YAMLPipelineWrapper

    monkeypatch.setenv("HAYSTACK_DESERIALIZATION_ALLOWLIST", "hayhooks.testing.components")
    source = """\
components:
  hello:
    type: hayhooks.testing.components.Hello
    init_parameters: {}
connections: []
inputs:
  word: hello.word
outputs:
  output: hello.output
"""
    path = tmp_path / "greeter.yml"
    path.write_text(source)
    for wrapper in (YAMLPipelineWrapper.from_yaml(source, description="Greets"), YAMLPipelineWrapper.from_file(path)):
        wrapper.setup()
        assert wrapper.run_api(word="yaml") == {"hello": {"output": "Hello, yaml!"}}
    assert YAMLPipelineWrapper.from_yaml(source, description="Greets").description == "Greets"


def test_importing_the_app_module_builds_no_app() -> None:
    code = (
        "import sys, hayhooks.server.app as m\n"
        "assert 'app' not in vars(m) and 'app' in dir(m)\n"
        "from hayhooks.server import module_app\n"
        "assert module_app._app is None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_the_old_global_registry_sees_and_clears_every_app(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from hayhooks.server.pipelines import registry as package_registry
    from hayhooks.server.pipelines.registry import registry

    from hayhooks.server.app import create_app
    from hayhooks.settings import Settings

    assert package_registry is registry
    apps = [create_app(Settings(_env_file=None, pipelines_dir=str(tmp_path / f"p{i}"))) for i in range(2)]
    for i, app in enumerate(apps):
        code = f"""
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self) -> int:
        return {i}
"""
        answer = TestClient(app).post("/deploy_files", json={"name": f"app{i}", "files": {"pipeline_wrapper.py": code}})
        assert answer.status_code == 200, answer.text
    assert {"app0", "app1"} <= set(registry.get_names())
    assert registry.get("app1").run_api() == 1 and registry.get_metadata("app0") is not None
    registry.clear()
    assert registry.get_names() == []
    assert TestClient(apps[0]).get("/status").json()["pipelines"] == []


def test_2_1_0_error_names_are_our_deploy_errors() -> None:
    from hayhooks.deploy import errors
    from hayhooks.server import exceptions

    assert exceptions.PipelineAlreadyExistsError is errors.PipelineExistsError
    assert exceptions.PipelineNotFoundError is errors.PipelineNotFoundError
    assert issubclass(exceptions.PipelinePathError, exceptions.PipelineFilesError)
    assert issubclass(exceptions.PipelinePathError, ValueError)
    for name in ("PipelineWrapperError", "PipelineModuleLoadError", "PipelineYamlError", "InvalidYamlIOError"):
        assert getattr(exceptions, name) is errors.InvalidPipelineError


def test_route_models_are_the_served_ones() -> None:
    from hayhooks.server.routers import deploy, status

    from hayhooks.server.admin import protocol

    assert deploy.DeployResponse is protocol.DeployResponse
    assert status.PipelineStatusResponse is protocol.PipelineStatusResponse
    answer = deploy.DeployResponse(name="x", success=True, endpoint="/x/run").model_dump()
    assert answer == {"name": "x", "success": True, "endpoint": "/x/run"}


def test_streaming_helpers_under_2_1_0_names() -> None:
    from hayhooks.server.pipelines.utils import is_streaming_component, parse_streaming_components_setting
    from hayhooks.server.utils.yaml_utils import get_streaming_components_from_yaml

    from hayhooks.testing.components import Hello

    assert parse_streaming_components_setting("") is None
    assert parse_streaming_components_setting(" all ") == "all"
    assert parse_streaming_components_setting("a, b") == ["a", "b"]
    assert is_streaming_component(Hello()) is False
    yaml = "components: {}\ninputs: {q: a.b}\noutputs: {r: a.b}\nstreaming_components: [llm_1, llm_2]\n"
    assert get_streaming_components_from_yaml(yaml) == ["llm_1", "llm_2"]
    assert get_streaming_components_from_yaml(yaml.replace("[llm_1, llm_2]", "all")) == "all"
    assert get_streaming_components_from_yaml(yaml.rsplit("streaming", 1)[0]) is None


def test_is_streaming_component_sees_wrapped_sockets() -> None:
    """A wrapper component whose ``run(**kwargs)`` hides the inner component's ``streaming_callback`` socket."""
    from types import SimpleNamespace

    from hayhooks.server.pipelines.utils import is_streaming_component

    class Wrapped:
        __haystack_input__ = SimpleNamespace(_sockets_dict={"streaming_callback": object(), "text": object()})

        def run(self, **kwargs: object) -> dict:
            return {}

    class Plain:
        __haystack_input__ = SimpleNamespace(_sockets_dict={"text": object()})

        def run(self, text: str) -> dict:
            return {}

    assert is_streaming_component(Wrapped()) is True
    assert is_streaming_component(Plain()) is False


def test_validate_pipeline_name_refuses_what_deploy_refuses() -> None:
    from hayhooks.server.exceptions import PipelinePathError
    from hayhooks.server.utils.pipeline_paths import validate_pipeline_name

    assert validate_pipeline_name("chat_rag") == "chat_rag"
    for bad in ("../etc", "/abs", "a/b", "", "status"):
        with pytest.raises(PipelinePathError):
            validate_pipeline_name(bad)
