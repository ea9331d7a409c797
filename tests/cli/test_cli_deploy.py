"""``hayhooks pipeline deploy-files|deploy-yaml|undeploy`` and the top-level ``deploy``/``undeploy``, live."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import (  # noqa: F401  (live_server is a fixture)
    GREETING_YAML,
    address_env,
    dead_port,
    invoke,
    live_server,
    make_folder,
    one_error_line,
    run_cli,
    write_text,
)
from conftest import write_yaml


def status_of(server) -> dict:
    with server.client() as http:
        return http.get("/status").json()


def details(server, name: str) -> dict:
    return next(d for d in status_of(server)["details"] if d["name"] == name)


def run_http(server, name: str, **body) -> dict:
    with server.client() as http:
        response = http.post(f"/{name}/run", json=body)
    assert response.status_code == 200, response.text
    return response.json()["result"]


@pytest.fixture
def pipelines_dir(live_server) -> Path:  # noqa: F811
    return Path(live_server.log_path).parent / "pipelines"


def test_deploy_files_sends_text_files_and_skips_caches_and_binaries(live_server, tmp_path, pipelines_dir) -> None:  # noqa: F811
    folder = make_folder(tmp_path, "echo_files", notes="helper text\n")
    write_text(folder / "__pycache__" / "pipeline_wrapper.cpython-311.pyc", "compiled")
    write_text(folder / "sub" / "data.txt", "nested\n")
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")

    result = run_cli("pipeline", "deploy-files", "-n", "echo_files", str(folder), server=live_server)

    assert result.returncode == 0, result.stderr
    assert f"Pipeline 'echo_files' deployed: POST http://127.0.0.1:{live_server.port}/echo_files/run" in result.stdout
    assert "Note: skipped binary file logo.png" in result.stderr
    assert run_http(live_server, "echo_files", text="hi", times=2) == {"text": "hihi", "tags": []}
    saved = pipelines_dir / "echo_files"
    assert (saved / "notes").read_text() == "helper text\n"
    assert (saved / "sub" / "data.txt").is_file()
    assert not (saved / "__pycache__").exists() and not (saved / "logo.png").exists()


def test_name_defaults_to_the_folder_and_description_is_sent(live_server, tmp_path) -> None:  # noqa: F811
    folder = make_folder(tmp_path, "echo_default")
    result = invoke("pipeline", "deploy-files", str(folder), "--description", "Repeats you", server=live_server)
    assert result.exit_code == 0, result.stderr
    assert details(live_server, "echo_default")["description"] == "Repeats you"


def test_existing_pipeline_is_refused_without_overwrite(live_server, tmp_path) -> None:  # noqa: F811
    folder = make_folder(tmp_path, "echo_twice")
    assert invoke("pipeline", "deploy-files", str(folder), server=live_server).exit_code == 0
    first_version = details(live_server, "echo_twice")["version"]

    refused = run_cli("pipeline", "deploy-files", str(folder), server=live_server)
    assert refused.returncode == 1
    line = one_error_line(refused.stderr)
    assert "Deploy of 'echo_twice' refused (409)" in line and "already exists" in line and "--overwrite" in line

    (folder / "pipeline_wrapper.py").write_text((folder / "pipeline_wrapper.py").read_text() + "\n# v2\n")
    replaced = run_cli("pipeline", "deploy-files", "-o", str(folder), server=live_server)
    assert replaced.returncode == 0, replaced.stderr
    assert details(live_server, "echo_twice")["version"] != first_version


def test_a_wrapper_that_fails_to_load_is_refused_with_the_server_reason(live_server, tmp_path) -> None:  # noqa: F811
    broken = (
        "from hayhooks import BasePipelineWrapper\n\nclass PipelineWrapper(BasePipelineWrapper):\n"
        "    def setup(self):\n        raise ValueError('index file is missing')\n"
    )
    folder = make_folder(tmp_path, "broken_one", broken)
    result = run_cli("pipeline", "deploy-files", str(folder), server=live_server)
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert "Deploy of 'broken_one' refused (422)" in line and "index file is missing" in line


def test_skip_saving_files_keeps_the_pipelines_dir_clean(live_server, tmp_path, pipelines_dir) -> None:  # noqa: F811
    folder = make_folder(tmp_path, "echo_unsaved")
    result = invoke("pipeline", "deploy-files", "--skip-saving-files", "--skip-mcp", str(folder), server=live_server)
    assert result.exit_code == 0, result.stderr
    assert "echo_unsaved" in status_of(live_server)["pipelines"]
    assert not (pipelines_dir / "echo_unsaved").exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: root / "missing", "does not exist"),
        (lambda root: write_text(root / "lonely" / "readme.md", "no wrapper here").parent, "No pipeline_wrapper.py in"),
        (lambda root: write_text(root / "file.py", "x = 1"), "is not a folder"),
    ],
)
def test_bad_folders_fail_before_contacting_the_server(tmp_path, make, message: str) -> None:
    result = invoke("pipeline", "deploy-files", str(make(tmp_path)), env=address_env(port=dead_port()))
    assert result.exit_code == 1
    assert message in one_error_line(result.stderr)


def test_deploy_yaml_names_it_after_the_file(live_server, tmp_path, pipelines_dir) -> None:  # noqa: F811
    path = write_yaml(tmp_path, "hello_yaml", GREETING_YAML)
    result = run_cli("pipeline", "deploy-yaml", str(path), "--description", "Says hi", server=live_server)
    assert result.returncode == 0, result.stderr
    assert "Pipeline 'hello_yaml' deployed" in result.stdout
    assert details(live_server, "hello_yaml")["description"] == "Says hi"
    assert (pipelines_dir / "hello_yaml.yml").is_file()


def test_deploy_yaml_with_a_name_and_no_save_file(live_server, tmp_path, pipelines_dir) -> None:  # noqa: F811
    path = write_yaml(tmp_path, "anything", GREETING_YAML)
    result = invoke("pipeline", "deploy-yaml", str(path), "-n", "hi_unsaved", "--no-save-file", server=live_server)
    assert result.exit_code == 0, result.stderr
    assert "hi_unsaved" in status_of(live_server)["pipelines"]
    assert not list(pipelines_dir.glob("hi_unsaved.*"))


def test_invalid_yaml_is_refused_and_a_missing_file_reported(live_server, tmp_path) -> None:  # noqa: F811
    bad = write_text(tmp_path / "bad.yml", "components: [this is: not valid\n")
    result = run_cli("pipeline", "deploy-yaml", str(bad), server=live_server)
    assert result.returncode == 1
    assert "Deploy of 'bad' refused (422)" in one_error_line(result.stderr)

    missing = invoke("pipeline", "deploy-yaml", str(tmp_path / "nope.yml"), server=live_server)
    assert missing.exit_code == 1 and "does not exist" in one_error_line(missing.stderr)


def test_undeploy_then_undeploy_again(live_server, tmp_path) -> None:  # noqa: F811
    folder = make_folder(tmp_path, "echo_gone")
    assert invoke("pipeline", "deploy-files", str(folder), server=live_server).exit_code == 0

    result = run_cli("pipeline", "undeploy", "echo_gone", server=live_server)
    assert result.returncode == 0, result.stderr
    assert "Pipeline 'echo_gone' successfully undeployed." in result.stdout
    assert "echo_gone" not in status_of(live_server)["pipelines"]

    again = run_cli("pipeline", "undeploy", "echo_gone", server=live_server)
    assert again.returncode == 1
    line = one_error_line(again.stderr)
    assert "Pipeline 'echo_gone' is not deployed" in line and "hayhooks status" in line


def test_legacy_deploy_takes_a_folder_or_a_yaml_file_and_undeploy_alias(live_server, tmp_path) -> None:  # noqa: F811
    folder = make_folder(tmp_path, "legacy_folder")
    assert run_cli("deploy", str(folder), server=live_server).returncode == 0
    yaml_path = write_yaml(tmp_path, "legacy_yaml", GREETING_YAML)
    assert invoke("deploy", str(yaml_path), "-n", "legacy_named", server=live_server).exit_code == 0
    assert {"legacy_folder", "legacy_named"} <= set(status_of(live_server)["pipelines"])
    assert run_http(live_server, "legacy_folder", text="x")["text"] == "x"

    again = invoke("deploy", str(folder), server=live_server)
    assert again.exit_code == 1 and "refused (409)" in again.stderr
    assert invoke("deploy", str(folder), "--overwrite", server=live_server).exit_code == 0

    result = run_cli("undeploy", "legacy_named", server=live_server)
    assert result.returncode == 0, result.stderr
    assert "legacy_named" not in status_of(live_server)["pipelines"]

    other = invoke("deploy", str(write_text(tmp_path / "notes.txt", "hello")), server=live_server)
    assert other.exit_code == 1 and "neither a folder nor a .yml/.yaml file" in other.stderr


def test_deploy_against_a_stopped_server(tmp_path) -> None:
    folder = make_folder(tmp_path, "nowhere")
    port = dead_port()
    result = run_cli("pipeline", "deploy-files", str(folder), env=address_env(port=port))
    assert result.returncode == 1
    assert f"Cannot reach the Hayhooks server at http://127.0.0.1:{port}" in one_error_line(result.stderr)
