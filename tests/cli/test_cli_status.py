"""``hayhooks status``, server address resolution, ``--version``/``--help`` and the server-down paths."""

from __future__ import annotations

import re
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
    spawn_server,
)
from conftest import write_yaml

from hayhooks.cli.client import resolve_address
from hayhooks.version import __version__

BROKEN_WRAPPER = """
from hayhooks import BasePipelineWrapper

class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        raise RuntimeError("model file missing")

    def run_api(self, text: str) -> str:
        return text
"""


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory: pytest.TempPathFactory):
    """A server started with two good pipelines and one whose setup() fails; runtime deploys are off."""
    workdir = tmp_path_factory.mktemp("status-server")
    pipelines = workdir / "pipelines"
    make_folder(pipelines, "echo")
    make_folder(pipelines, "broken", BROKEN_WRAPPER)
    write_yaml(pipelines, "greeting", GREETING_YAML)
    server = spawn_server(pipelines, workdir, env={"HAYHOOKS_RUNTIME_DEPLOY": "false"})
    yield server
    server.stop()


def test_status_of_an_empty_server(live_server) -> None:  # noqa: F811
    result = run_cli("status", server=live_server)
    assert result.returncode == 0, result.stderr
    assert f"Hayhooks server is up and running at http://127.0.0.1:{live_server.port}" in result.stdout
    assert "No pipelines deployed." in result.stdout
    assert "\x1b[" not in result.stdout  # no colour codes when not on a terminal


def test_status_lists_pipelines_and_load_errors_in_tables(busy_server) -> None:
    result = run_cli("status", server=busy_server)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Deployed pipelines" in out
    echo_row = next(line for line in out.splitlines() if " echo " in line)
    assert "wrapper" in echo_row and "/echo/run" in echo_row and "Echo the text back." in echo_row
    greeting_row = next(line for line in out.splitlines() if " greeting " in line)
    assert "yaml" in greeting_row and "/greeting/run" in greeting_row
    assert "Failed to load" in out
    assert re.search(r"broken .*model file missing", out)


def test_deploy_refused_because_runtime_deploy_is_off_shows_the_server_detail(busy_server, tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "locked_out")
    result = run_cli("pipeline", "deploy-files", str(folder), server=busy_server)
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert "Deploy of 'locked_out' refused (403)" in line and "HAYHOOKS_RUNTIME_DEPLOY" in line


def test_flags_win_over_environment_and_env_over_defaults(busy_server, tmp_path: Path) -> None:
    # HAYHOOKS_PORT points nowhere, --port at the server: the flag wins.
    flags = ["--host", "127.0.0.1", "--port", str(busy_server.port)]
    result = run_cli("status", *flags, env=address_env(port=dead_port()))
    assert result.returncode == 0 and "echo" in result.stdout

    # A .env file in the working directory is read like the environment.
    (tmp_path / ".env").write_text(f"HAYHOOKS_HOST=127.0.0.1\nHAYHOOKS_PORT={busy_server.port}\n")
    result = run_cli("status", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_host_may_be_a_full_url(busy_server) -> None:
    result = invoke("status", "--host", f"http://127.0.0.1:{busy_server.port}", env=address_env(port=dead_port()))
    assert result.exit_code == 0, result.stderr
    assert f"up and running at http://127.0.0.1:{busy_server.port}" in result.stdout


def test_address_defaults_and_bind_all_hosts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("HAYHOOKS_HOST", "HAYHOOKS_PORT", "HAYHOOKS_USE_HTTPS", "HAYHOOKS_DISABLE_SSL", "HAYHOOKS_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    default = resolve_address()
    assert (default.base_url, default.verify_tls, default.api_key) == ("http://localhost:1416", True, None)

    monkeypatch.setenv("HAYHOOKS_HOST", "0.0.0.0")
    monkeypatch.setenv("HAYHOOKS_USE_HTTPS", "true")
    monkeypatch.setenv("HAYHOOKS_DISABLE_SSL", "true")
    monkeypatch.setenv("HAYHOOKS_API_KEY", "from-env")
    address = resolve_address(port=8443)
    assert (address.base_url, address.verify_tls, address.api_key) == ("https://127.0.0.1:8443", False, "from-env")
    assert resolve_address(host="::", api_key="flag").base_url == "https://[::1]:1416"
    assert resolve_address(api_key="flag").api_key == "flag"


def test_server_down_is_one_line_naming_the_address() -> None:
    port = dead_port()
    result = run_cli("status", env=address_env(port=port))
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert f"Cannot reach the Hayhooks server at http://127.0.0.1:{port}" in line
    assert "hayhooks run" in line and "--host/--port" in line
    assert result.stdout == ""


def test_debug_shows_the_traceback() -> None:
    result = run_cli("--debug", "status", env=address_env(port=dead_port()))
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "Error: Cannot reach" in result.stderr


def test_https_against_a_plain_http_server_fails_cleanly(busy_server) -> None:
    result = run_cli("status", server=busy_server, env={"HAYHOOKS_USE_HTTPS": "true"})
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert f"https://127.0.0.1:{busy_server.port}" in line


def test_invalid_address_variable_is_reported() -> None:
    result = invoke("status", env={"HAYHOOKS_PORT": "not-a-port"})
    assert result.exit_code == 1
    assert "HAYHOOKS_PORT" in result.stderr and "Traceback" not in result.stderr


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"hayhooks {__version__}"


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["deploy"],
        ["undeploy"],
        ["pipeline"],
        ["pipeline", "deploy-files"],
        ["pipeline", "deploy-yaml"],
        ["pipeline", "undeploy"],
        ["pipeline", "run"],
    ],
)
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    if command != ["pipeline"]:
        assert "Example: hayhooks " in " ".join(result.stdout.split())
        assert "--host" in result.stdout and "--api-key" in result.stdout


def test_commands_other_than_run_restore_the_collector_thresholds() -> None:
    """The console script relaxes the garbage collector for `hayhooks run`'s startup; any other command, here one
    that fails against a dead port, puts the usual thresholds back for the rest of its process."""
    import gc

    from hayhooks.process import gc_tuning

    gc_tuning.restore()
    usual = gc.get_threshold()
    gc_tuning.relax()
    try:
        assert gc.get_threshold() == gc_tuning.STARTUP_THRESHOLDS
        result = invoke("status", "--host", "127.0.0.1", "--port", str(dead_port()))
        assert result.exit_code != 0
        assert gc.get_threshold() == usual
    finally:
        gc_tuning.restore()
