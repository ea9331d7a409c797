"""Helpers for the CLI tests: a live server per test module, and the ``hayhooks`` command run against it.

``run_cli`` runs the real command in a subprocess; ``invoke`` runs it in-process with typer's runner (faster,
for the many small failure paths). Both point the CLI at a server through ``HAYHOOKS_HOST``/``HAYHOOKS_PORT``.
"""

from __future__ import annotations

import socket
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import HAYHOOKS, ServerProcess, base_env, launch_server, write_wrapper
from typer.testing import CliRunner

ECHO_WRAPPER = '''
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, text: str, times: int = 1, tags: list[str] | None = None, upper: bool = False) -> dict:
        """Echo the text back."""
        text = text.upper() if upper else text
        return {"text": text * times, "tags": tags or []}
'''

GREETING_YAML = """\
components:
  builder:
    type: haystack.components.builders.prompt_builder.PromptBuilder
    init_parameters:
      template: "Hi {{ who }}"
      required_variables: "*"
connections: []
inputs:
  who: builder.who
outputs:
  prompt: builder.prompt
"""


def spawn_server(pipelines_dir: Path, workdir: Path, env: dict[str, str] | None = None) -> ServerProcess:
    """``hayhooks run`` on a free port (same command line as the shared ``start_server`` fixture)."""
    return launch_server(pipelines_dir, workdir, env=env)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the whole test module; tests use distinct pipeline names."""
    workdir = tmp_path_factory.mktemp("cli-server")
    server = spawn_server(workdir / "pipelines", workdir)
    yield server
    server.stop()


def address_env(server: ServerProcess | None = None, port: int | None = None) -> dict[str, str]:
    """Environment pointing the CLI at ``server`` (or at ``port``, default: a port nothing listens on)."""
    return {"HAYHOOKS_HOST": "127.0.0.1", "HAYHOOKS_PORT": str(port or (server.port if server else dead_port()))}


def dead_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(
    *args: str,
    server: ServerProcess | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """The real ``hayhooks`` command in a subprocess (no terminal: plain output)."""
    full_env = base_env(**{**(address_env(server) if server else {}), **(env or {})})
    return subprocess.run([*HAYHOOKS, *args], env=full_env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def invoke(*args: str, server: ServerProcess | None = None, env: dict[str, str] | None = None):  # noqa: ANN201
    """The ``hayhooks`` command in-process; returns typer's ``Result`` (``exit_code``, ``stdout``, ``stderr``)."""
    from hayhooks.cli import app

    return CliRunner().invoke(app, list(args), env={**(address_env(server) if server else {}), **(env or {})})


def make_folder(root: Path, name: str, code: str = ECHO_WRAPPER, **extra: str) -> Path:
    return write_wrapper(root, name, code, **extra)


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def one_error_line(stderr: str) -> str:
    """The CLI's failure output: exactly one ``Error:`` line and no traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1, stderr
    return errors[0]
