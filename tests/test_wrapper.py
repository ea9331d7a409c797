"""The public ``hayhooks`` names wrappers import, and ``BasePipelineWrapper`` itself."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from conftest import write_wrapper


def test_public_names_import() -> None:
    import haystack

    from hayhooks import (
        AsyncPipeline,
        BasePipelineWrapper,
        Pipeline,
        SSEStream,
        async_streaming_generator,
        get_last_user_message,
        log,
        streaming_generator,
    )

    assert issubclass(Pipeline, haystack.Pipeline) or Pipeline is haystack.Pipeline
    assert AsyncPipeline is Pipeline and hasattr(AsyncPipeline, "run_async")
    assert callable(streaming_generator) and callable(async_streaming_generator) and callable(get_last_user_message)
    assert isinstance(SSEStream(iter([])), SSEStream)
    assert isinstance(BasePipelineWrapper, type)
    assert callable(log.info)


def test_unknown_public_name_is_an_attribute_error() -> None:
    import hayhooks

    with pytest.raises(AttributeError, match="no_such_name"):
        hayhooks.no_such_name  # noqa: B018
    with pytest.raises(ImportError):
        exec("from hayhooks import no_such_name")


def test_wrapper_without_setup_cannot_be_instantiated() -> None:
    from hayhooks import BasePipelineWrapper

    class NoSetup(BasePipelineWrapper):
        pass

    with pytest.raises(TypeError):
        NoSetup()


def test_implemented_methods_lists_only_overrides() -> None:
    from hayhooks import BasePipelineWrapper
    from hayhooks.wrapper import implemented_methods

    class Sync(BasePipelineWrapper):
        def setup(self) -> None:
            pass

        def run_api(self, x: int) -> int:
            return x

    class Both(Sync):
        async def run_api_async(self, x: int) -> int:
            return x

        def run_chat_completion(self, model, messages, body):
            return ""

    assert implemented_methods(Sync) == {"run_api"}
    assert implemented_methods(Both) == {"run_api", "run_api_async", "run_chat_completion"}
    assert implemented_methods(BasePipelineWrapper) == frozenset()


def test_base_methods_raise_not_implemented() -> None:
    from hayhooks import BasePipelineWrapper

    class Minimal(BasePipelineWrapper):
        def setup(self) -> None:
            self.pipeline = "built"

    wrapper = Minimal()
    assert wrapper.pipeline is None
    wrapper.setup()
    assert wrapper.pipeline == "built"
    with pytest.raises(NotImplementedError):
        wrapper.run_api()
    with pytest.raises(NotImplementedError):
        wrapper.run_chat_completion("m", [], {})


def test_log_is_loguru_and_reaches_the_hayhooks_logger() -> None:
    from hayhooks import log

    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("hayhooks")
    handler, old_level = Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(5)
    added: list[str] = []
    sink_id = log.add(lambda message: added.append(message.record["message"]), level="SUCCESS", format="{message}")
    try:
        log.info("brace {}={}", "y", 2)
        log.debug("named {who}", who="z")
        log.error("literal {braces} kept")
        log.success("done {}", 1)
        log.trace("fine detail")
        log.bind(user="u1").warning("bound")
        try:
            raise ValueError("boom")
        except ValueError:
            log.opt(exception=True).error("failed")
    finally:
        log.remove(sink_id)
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert [r.getMessage() for r in records] == [
        "brace y=2",
        "named z",
        "literal {braces} kept",
        "done 1",
        "fine detail",
        "bound",
        "failed",
    ]
    assert [r.levelname for r in records] == ["INFO", "DEBUG", "ERROR", "SUCCESS", "TRACE", "WARNING", "ERROR"]
    assert records[-1].exc_info is not None and records[-1].exc_info[0] is ValueError
    # The record points at the caller, not at the forwarding sink.
    assert {r.filename for r in records} == {"test_wrapper.py"}
    # A sink the user adds gets what passes its level, next to the server's output.
    assert added == ["literal {braces} kept", "done 1", "bound", "failed"]


def test_wrapper_using_public_names_deploys_and_runs(tmp_path: Path, app_client) -> None:
    code = """\
    from hayhooks import AsyncPipeline, BasePipelineWrapper, log
    from test_components import Upper


    class PipelineWrapper(BasePipelineWrapper):
        \"\"\"Uppercases text.\"\"\"

        def setup(self) -> None:
            self.pipeline = AsyncPipeline()
            self.pipeline.add_component("upper", Upper())

        async def run_api_async(self, text: str) -> str:
            log.info("running with {}", text)
            result = await self.pipeline.run_async({"upper": {"text": text}})
            return result["upper"]["text"]
    """
    write_wrapper(tmp_path / "pipelines", "public", code)
    with app_client(tmp_path / "pipelines") as client:
        assert client.post("/public/run", json={"text": "abc"}).json() == {"result": "ABC"}
        details = client.get("/status").json()["details"]
    assert details[0]["description"] == "Uppercases text."
