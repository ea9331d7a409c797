"""API keys: ``--api-key`` / ``HAYHOOKS_API_KEY`` sent as ``Authorization: Bearer``, against a server requiring keys."""

from __future__ import annotations

import json

import pytest
from cli_support import ECHO_WRAPPER, invoke, make_folder, one_error_line, run_cli, spawn_server

RUN_KEY = "run-key-123"
ADMIN_KEY = "admin-key-456"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("auth-server")
    make_folder(workdir / "pipelines", "echo", ECHO_WRAPPER)
    keys = {"HAYHOOKS_API_KEYS": json.dumps([RUN_KEY]), "HAYHOOKS_ADMIN_API_KEYS": json.dumps([ADMIN_KEY])}
    process = spawn_server(workdir / "pipelines", workdir, env=keys)
    yield process
    process.stop()


def test_status_needs_no_key(server) -> None:
    result = invoke("status", server=server)
    assert result.exit_code == 0, result.stderr
    assert "echo" in result.stdout


def test_without_a_key_the_cli_says_how_to_pass_one(server, tmp_path) -> None:
    result = run_cli("pipeline", "run", "echo", "-p", "text=hi", server=server)
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert "(401)" in line and "--api-key" in line and "HAYHOOKS_API_KEY" in line

    folder = make_folder(tmp_path, "keyless")
    deploy = invoke("pipeline", "deploy-files", str(folder), server=server)
    assert deploy.exit_code == 1 and "refused (401)" in one_error_line(deploy.stderr)


def test_run_key_runs_but_cannot_deploy(server, tmp_path) -> None:
    result = run_cli("pipeline", "run", "echo", "-p", "text=hi", "--api-key", RUN_KEY, server=server)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["text"] == "hi"

    folder = make_folder(tmp_path, "not_allowed")
    deploy = invoke("pipeline", "deploy-files", str(folder), "--api-key", RUN_KEY, server=server)
    assert deploy.exit_code == 1
    assert "refused (403)" in one_error_line(deploy.stderr) and "admin key" in deploy.stderr


def test_admin_key_from_the_environment_deploys_and_undeploys(server, tmp_path) -> None:
    folder = make_folder(tmp_path, "with_admin")
    env = {"HAYHOOKS_API_KEY": ADMIN_KEY}
    result = run_cli("pipeline", "deploy-files", str(folder), server=server, env=env)
    assert result.returncode == 0, result.stderr
    assert invoke("pipeline", "run", "with_admin", "-p", "text=x", server=server, env=env).exit_code == 0
    assert invoke("undeploy", "with_admin", server=server, env=env).exit_code == 0
