"""Issue point 3: YAML pipelines with ``inputs`` / ``outputs``, their errors, and Haystack's allowlist."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import write_yaml

from hayhooks.deploy.errors import InvalidPipelineError
from hayhooks.deploy.service import DeployService
from hayhooks.registry import Registry
from hayhooks.settings import Settings

COMPONENTS = """\
components:
  upper:
    type: test_components.Upper
    init_parameters: {}
  suffix:
    type: test_components.Suffix
    init_parameters:
      suffix: "?"
  other:
    type: test_components.Suffix
    init_parameters:
      suffix: "#"
connections:
- sender: upper.text
  receiver: suffix.text
"""

GOOD = (
    COMPONENTS
    + """\
inputs:
  text: upper.text
  both: [other.text]
outputs:
  upper_text: upper.text
  final: suffix.text
  other_text: other.text
"""
)


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DeployService:
    monkeypatch.setenv("HAYSTACK_DESERIALIZATION_ALLOWLIST", "test_components")
    settings = Settings(_env_file=None, pipelines_dir=str(tmp_path / "pipelines"), watch_pipelines_dir=False)
    return DeployService(settings, Registry())


def test_yaml_run_result_keyed_by_component_and_includes_intermediate_outputs(tmp_path: Path, app_client) -> None:
    pipelines = tmp_path / "pipelines"
    write_yaml(pipelines, "chain", GOOD)
    with app_client(pipelines) as client:
        response = client.post("/chain/run", json={"text": "hi", "both": "x"})
    assert response.status_code == 200, response.text
    # upper.text feeds suffix.text, and is still returned because it is a declared output.
    assert response.json() == {"result": {"upper": {"text": "HI"}, "suffix": {"text": "HI?"}, "other": {"text": "x#"}}}


def test_yaml_list_input_sends_the_same_value_to_every_target(tmp_path: Path, app_client) -> None:
    source = """\
components:
  first:
    type: test_components.Suffix
    init_parameters: {suffix: "1"}
  second:
    type: test_components.Suffix
    init_parameters: {suffix: "2"}
inputs:
  text: [first.text, second.text]
outputs:
  a: first.text
  b: second.text
"""
    pipelines = tmp_path / "pipelines"
    write_yaml(pipelines, "fanout", source)
    with app_client(pipelines) as client:
        response = client.post("/fanout/run", json={"text": "v"})
    assert response.json() == {"result": {"first": {"text": "v1"}, "second": {"text": "v2"}}}


def test_yaml_declared_inputs_are_required_and_typed(tmp_path: Path, app_client) -> None:
    pipelines = tmp_path / "pipelines"
    write_yaml(pipelines, "chain", GOOD)
    with app_client(pipelines) as client:
        missing = client.post("/chain/run", json={"text": "hi"})
        wrong = client.post("/chain/run", json={"text": 5, "both": "x"})
    assert missing.status_code == 422
    assert [e["loc"] for e in missing.json()["detail"]] == [["body", "both"]]
    assert wrong.status_code == 422
    assert ["body", "text"] in [e["loc"] for e in wrong.json()["detail"]]


def test_yaml_with_dot_yaml_suffix_is_deployed(tmp_path: Path, app_client) -> None:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    (pipelines / "longsuffix.yaml").write_text(GOOD)
    with app_client(pipelines) as client:
        response = client.post("/longsuffix/run", json={"text": "a", "both": "b"})
    assert response.status_code == 200
    assert response.json()["result"]["suffix"] == {"text": "A?"}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (COMPONENTS + "outputs:\n  final: suffix.text\n", "'inputs'"),
        (COMPONENTS + "inputs:\n  text: upper.text\n", "'outputs'"),
        (COMPONENTS, "'inputs' or 'outputs'"),
        (COMPONENTS + "inputs:\n  text: nowhere.text\noutputs:\n  final: suffix.text\n", "unknown component 'nowhere'"),
        (COMPONENTS + "inputs:\n  text: upper.txt\noutputs:\n  final: suffix.text\n", "unknown field 'txt'"),
        (COMPONENTS + "inputs:\n  text: upper.text\noutputs:\n  final: ghost.text\n", "unknown component 'ghost'"),
        (COMPONENTS + "inputs:\n  text: upper.text\noutputs:\n  final: suffix.result\n", "unknown field 'result'"),
        (COMPONENTS + "inputs:\n  text: upper\noutputs:\n  final: suffix.text\n", "component.field"),
        ("components: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "mapping"),
    ],
)
def test_bad_yaml_definitions_name_the_problem(service: DeployService, source: str, expected: str) -> None:
    with pytest.raises(InvalidPipelineError) as info:
        service.deploy_yaml("broken", source, save_file=False)
    assert expected in str(info.value)
    assert "broken" in str(info.value)
    assert "broken" not in service.registry


def test_bad_yaml_over_http_is_422_with_reason(tmp_path: Path, app_client) -> None:
    with app_client(tmp_path / "pipelines") as client:
        no_io = client.post("/deploy-yaml", json={"name": "noio", "source_code": COMPONENTS})
        bad_field = client.post(
            "/deploy-yaml",
            json={
                "name": "badfield",
                "source_code": COMPONENTS + "inputs:\n  t: upper.nope\noutputs:\n  o: upper.text\n",
            },
        )
        assert client.get("/status").json()["pipelines"] == []
    assert no_io.status_code == 422
    assert "inputs" in no_io.json()["detail"] and "outputs" in no_io.json()["detail"]
    assert bad_field.status_code == 422
    assert "unknown field 'nope'" in bad_field.json()["detail"]
    assert not (tmp_path / "pipelines" / "noio.yml").exists()


def test_allowlist_is_honoured_as_haystack_defines_it(service: DeployService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAYSTACK_DESERIALIZATION_ALLOWLIST", "some_other_package.*")
    with pytest.raises(InvalidPipelineError) as info:
        service.deploy_yaml("refused", GOOD, save_file=False)
    message = str(info.value)
    assert "test_components" in message and "allowlist" in message
    assert "refused" not in service.registry

    # Haystack's pattern forms: a prefix with `.*` (and a plain prefix) both allow the module.
    for pattern in ("test_components.*", "unrelated,test_components"):
        monkeypatch.setenv("HAYSTACK_DESERIALIZATION_ALLOWLIST", pattern)
        pipeline = service.deploy_yaml("refused", GOOD, save_file=False, overwrite=True)
        assert pipeline.kind == "yaml"


def test_allowlist_refusal_at_startup_is_logged_and_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HAYSTACK_DESERIALIZATION_ALLOWLIST", raising=False)
    pipelines = tmp_path / "pipelines"
    write_yaml(pipelines, "needs_allowlist", GOOD)
    write_yaml(
        pipelines,
        "haystack_only",
        textwrap.dedent("""\
        components:
          joiner:
            type: haystack.components.joiners.string_joiner.StringJoiner
            init_parameters: {}
        inputs:
          strings: joiner.strings
        outputs:
          joined: joiner.strings
        """),
    )
    settings = Settings(_env_file=None, pipelines_dir=str(pipelines), watch_pipelines_dir=False)
    service = DeployService(settings, Registry())
    report = service.deploy_directory()
    assert report.deployed == ["haystack_only"]
    assert "allowlist" in report.failed["needs_allowlist"]
    assert "allowlist" in service.registry.errors()["needs_allowlist"]
