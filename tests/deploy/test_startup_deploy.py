"""Issue point 5: startup deploy of the pipelines dir; parallel deploys exactly what sequential does."""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path

import pytest
from conftest import write_wrapper, write_yaml

from hayhooks.deploy.service import DeployService
from hayhooks.registry import Registry
from hayhooks.settings import Settings

# Wrappers importing different parts of Haystack, at module level or lazily inside setup().
WRAPPER_KINDS = {
    "builder": """\
from haystack.components.builders import PromptBuilder
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        from haystack import Pipeline
        self.pipeline = Pipeline()
        self.pipeline.add_component("prompt", PromptBuilder(template="Hello {{ who }} from {{ me }}"))

    def run_api(self, who: str) -> str:
        return self.pipeline.run({"prompt": {"who": who, "me": "NAME"}})["prompt"]["prompt"]
""",
    "joiner": """\
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        from haystack.components.joiners import StringJoiner
        self.joiner = StringJoiner()

    def run_api(self, words: list[str]) -> list[str]:
        return self.joiner.run(strings=[*words, "NAME"])["strings"]
""",
    "dataclasses": """\
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        from haystack.dataclasses import ChatMessage, Document
        self.doc = Document(content="NAME")
        self.message = ChatMessage.from_user("hi")

    def run_api(self) -> str:
        return self.doc.content + ":" + self.message.text
""",
    "router": """\
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        from haystack.components.routers import ConditionalRouter
        self.router = ConditionalRouter(
            routes=[{"condition": "{{ n > 0 }}", "output": "NAME", "output_name": "out", "output_type": str}]
        )

    def run_api(self, n: int = 1) -> dict:
        return self.router.run(n=n)
""",
    "store": """\
from haystack import Document, Pipeline
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
from haystack.document_stores.in_memory import InMemoryDocumentStore
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        store = InMemoryDocumentStore()
        store.write_documents([Document(content="NAME is here"), Document(content="other text")])
        self.pipeline = Pipeline()
        self.pipeline.add_component("retriever", InMemoryBM25Retriever(store, top_k=1))

    def run_api(self, query: str = "NAME") -> str:
        return self.pipeline.run({"retriever": {"query": query}})["retriever"]["documents"][0].content
""",
    "preprocess": """\
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        from haystack.components.preprocessors import DocumentCleaner
        from haystack.components.converters import TextFileToDocument
        from haystack.dataclasses import Document
        self.cleaner = DocumentCleaner()
        self.converter = TextFileToDocument()
        self.Document = Document

    def run_api(self) -> str:
        return self.cleaner.run(documents=[self.Document(content="  NAME  ")])["documents"][0].content
""",
    "helper": """\
import utils
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        from haystack.components.builders import ChatPromptBuilder
        self.builder = ChatPromptBuilder()

    def run_api(self) -> str:
        return utils.VALUE
""",
}

YAML_KINDS = {
    "yaml_haystack": """\
components:
  joiner:
    type: haystack.components.joiners.string_joiner.StringJoiner
    init_parameters: {}
inputs:
  strings: joiner.strings
outputs:
  strings: joiner.strings
""",
    "yaml_components": """\
components:
  upper:
    type: test_components.Upper
    init_parameters: {}
  suffix:
    type: test_components.Suffix
    init_parameters: {suffix: "-NAME"}
connections:
- sender: upper.text
  receiver: suffix.text
inputs:
  text: upper.text
outputs:
  text: suffix.text
""",
}

BROKEN = {
    "broken_syntax": ("wrapper", "class PipelineWrapper(:\n"),
    "broken_setup": (
        "wrapper",
        "from hayhooks import BasePipelineWrapper\n\n\nclass PipelineWrapper(BasePipelineWrapper):\n"
        "    def setup(self):\n        raise RuntimeError('setup says no')\n",
    ),
    "broken_import": ("wrapper", "import haystack.components.not_a_real_module\n"),
    "broken_class": ("wrapper", "class PipelineWrapper:\n    pass\n"),
    "broken_yaml": ("yaml", "components: [unclosed\n"),
    "broken_yaml_io": ("yaml", "components: {}\n"),
    "broken_yaml_type": (
        "yaml",
        "components:\n  x:\n    type: haystack.components.nothing.Nothing\n    init_parameters: {}\n"
        "inputs:\n  t: x.t\noutputs:\n  t: x.t\n",
    ),
}
BROKEN_REASONS = {
    "broken_syntax": "SyntaxError",
    "broken_setup": "setup says no",
    "broken_import": "not_a_real_module",
    "broken_class": "PipelineWrapper",
    "broken_yaml": "not valid YAML",
    "broken_yaml_io": "'inputs' or 'outputs'",
    "broken_yaml_type": "haystack.components.nothing",
}


def populate(pipelines: Path, count: int = 56) -> set[str]:
    """Write ``count`` working pipelines of every kind plus the broken ones; return the working names."""
    kinds = [*WRAPPER_KINDS, *YAML_KINDS]
    good: set[str] = set()
    for i in range(count):
        kind = kinds[i % len(kinds)]
        name = f"{kind}_{i:02d}"
        if kind in WRAPPER_KINDS:
            extra = {"utils.py": f"VALUE = {name!r}\n"} if kind == "helper" else {}
            write_wrapper(pipelines, name, WRAPPER_KINDS[kind].replace("NAME", name), **extra)
        else:
            write_yaml(pipelines, name, YAML_KINDS[kind].replace("NAME", name))
        good.add(name)
    for name, (kind, source) in BROKEN.items():
        if kind == "wrapper":
            write_wrapper(pipelines, name, source)
        else:
            write_yaml(pipelines, name, source)
    # Not pipelines: a folder without a wrapper, hidden entries, other files.
    (pipelines / "just_data").mkdir()
    (pipelines / "just_data" / "file.txt").write_text("x")
    write_wrapper(pipelines, ".hidden_wrapper", WRAPPER_KINDS["dataclasses"])
    (pipelines / "notes.txt").write_text("not a pipeline")
    return good


def make_service(pipelines: Path, **settings) -> DeployService:
    return DeployService(
        Settings(_env_file=None, pipelines_dir=str(pipelines), watch_pipelines_dir=False, **settings), Registry()
    )


@pytest.fixture
def allowlist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAYSTACK_DESERIALIZATION_ALLOWLIST", "test_components")
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "components"))


def _check_pipelines_answer(service: DeployService, good: set[str]) -> None:
    for name in sorted(good):
        pipeline = service.registry.get(name)
        if pipeline.kind == "yaml":
            fields = {"strings": ["a"]} if name.startswith("yaml_haystack") else {"text": "a"}
            result = pipeline.wrapper.run_api(**fields)
            assert result, name
            if name.startswith("yaml_components"):
                assert result == {"suffix": {"text": f"A-{name}"}}
            continue
        kind = name.rsplit("_", 1)[0]
        args = {"builder": {"who": "x"}, "joiner": {"words": ["x"]}}.get(kind, {})
        assert name in str(pipeline.wrapper.run_api(**args)), name


def test_parallel_deploys_exactly_what_sequential_does(tmp_path: Path, allowlist) -> None:
    pipelines = tmp_path / "pipelines"
    good = populate(pipelines)
    assert len(good) >= 50
    outcomes = []
    for strategy in ("sequential", "parallel") * 3:
        service = make_service(pipelines, startup_deploy_strategy=strategy, startup_deploy_workers=8)
        report = service.deploy_directory()
        outcomes.append((strategy, sorted(report.deployed), sorted(report.failed)))
        assert set(service.registry.names()) == good, strategy
        assert set(report.failed) == set(BROKEN), strategy
        for name, reason in BROKEN_REASONS.items():
            assert reason in report.failed[name], (strategy, name, report.failed[name])
            assert service.registry.errors()[name] == report.failed[name]
        _check_pipelines_answer(service, good)
    assert len({(tuple(deployed), tuple(failed)) for _, deployed, failed in outcomes}) == 1


@pytest.fixture
def thread_log(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("hh_startup_threads")
    module.names = []
    module.lock = threading.Lock()
    monkeypatch.setitem(sys.modules, "hh_startup_threads", module)
    return module


THREAD_RECORDING = """\
import threading

import hh_startup_threads as log
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        with log.lock:
            log.names.append(threading.current_thread().name)

    def run_api(self) -> str:
        return "ok"
"""


@pytest.mark.parametrize(("strategy", "workers"), [("parallel", 3), ("parallel", 1), ("sequential", 4)])
def test_strategy_and_workers_settings_are_honoured(tmp_path: Path, thread_log, strategy: str, workers: int) -> None:
    pipelines = tmp_path / "pipelines"
    for i in range(12):
        write_wrapper(pipelines, f"t{i:02d}", THREAD_RECORDING)
    service = make_service(pipelines, startup_deploy_strategy=strategy, startup_deploy_workers=workers)
    report = service.deploy_directory()
    assert len(report.deployed) == 12 and not report.failed
    assert len(thread_log.names) == 12
    if strategy == "parallel" and workers > 1:
        caller = threading.current_thread().name
        assert thread_log.names.count(caller) == 1  # the first loads alone; the rest on worker threads
        assert 1 <= len(set(thread_log.names) - {caller}) <= workers
    else:
        assert set(thread_log.names) == {threading.current_thread().name}


BARRIER_WAITING = """\
import hh_startup_threads as log
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        log.barrier.wait()

    def run_api(self) -> str:
        return "ok"
"""


@pytest.mark.parametrize("deploy_concurrency", ["serialized", "parallel"])
def test_parallel_strategy_runs_setups_side_by_side(tmp_path: Path, thread_log, deploy_concurrency: str) -> None:
    """The threads overlap setups (what a setup() waiting on I/O needs), whatever runtime requests are limited to."""
    thread_log.barrier = threading.Barrier(2, timeout=10)
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "a_first", THREAD_RECORDING)  # loads alone, before the others
    for name in ("b_left", "c_right"):
        write_wrapper(pipelines, name, BARRIER_WAITING)
    service = make_service(
        pipelines, startup_deploy_strategy="parallel", startup_deploy_workers=2, deploy_concurrency=deploy_concurrency
    )
    report = service.deploy_directory()
    assert report.deployed == ["a_first", "b_left", "c_right"] and not report.failed


def test_missing_pipelines_dir_is_created(tmp_path: Path) -> None:
    pipelines = tmp_path / "not" / "yet"
    report = make_service(pipelines).deploy_directory()
    assert pipelines.is_dir()
    assert report.deployed == [] and report.failed == {}


@pytest.mark.parametrize("strategy", ["parallel", "sequential"])
def test_real_server_startup_deploys_the_same_set(tmp_path: Path, start_server, strategy: str) -> None:
    """A fresh process imports Haystack modules for the first time from several threads at once."""
    pipelines = tmp_path / "pipelines"
    good = populate(pipelines)
    server = start_server(
        pipelines,
        env={"HAYHOOKS_STARTUP_DEPLOY_STRATEGY": strategy, "HAYHOOKS_STARTUP_DEPLOY_WORKERS": "8"},
    )
    with server.client() as client:
        status = client.get("/status").json()
        assert set(status["pipelines"]) == good
        assert set(status["errors"]) == set(BROKEN)
        assert client.post("/builder_00/run", json={"who": "you"}).json() == {"result": "Hello you from builder_00"}
        assert client.post("/helper_06/run", json={}).json() == {"result": "helper_06"}
        yaml_name = next(n for n in sorted(good) if n.startswith("yaml_components"))
        assert client.post(f"/{yaml_name}/run", json={"text": "b"}).json() == {
            "result": {"suffix": {"text": f"B-{yaml_name}"}}
        }
    log = server.log()
    for name, reason in BROKEN_REASONS.items():
        line = next((line for line in log.splitlines() if f"'{name}'" in line), "")
        assert "ERROR" in line and reason in line, (name, line)
    assert "Deployed 56 pipeline(s)" in log and "(7 skipped)" in log
