"""Helpers for the CLI-flag, route-contract and MCP compatibility tests (Hayhooks 2.1.0 command lines)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import HAYHOOKS, ServerProcess, base_env, free_port

STREAMING_WRAPPER = '''
import os
import time
from pathlib import Path

from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, question: str, gate: str):
        """Streams a first chunk, then waits (at most 60 s) for the file `gate` before the second one."""

        def chunks():
            yield f"first:{question}\\n"
            deadline = time.monotonic() + 60
            while not Path(gate).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            yield "second" if Path(gate).exists() else "gate-timeout"

        return chunks()
'''

ECHO_WRAPPER = '''
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        self.pipeline = None

    def run_api(self, text: str) -> str:
        """Uppercase a text."""
        return text.upper()
'''


def start_command(
    argv: list[str],
    log_dir: Path,
    *,
    port: int,
    env: dict[str, str] | None = None,
    ready_path: str = "/health/ready",
    cwd: Path | None = None,
) -> ServerProcess:
    """``hayhooks *argv`` exactly as given (short flags and all), in its own session; waits for ``ready_path``."""
    log_path = log_dir / f"{'-'.join(a.strip('-') for a in argv[:2])}-{port}.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [*HAYHOOKS, *argv],
            env=base_env(**(env or {})),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=cwd or log_dir,
            start_new_session=True,
        )
    server = ServerProcess(proc, port, log_path)
    try:
        server.wait_ready(path=ready_path)
    except BaseException:
        server.stop()
        raise
    return server


__all__ = ["ECHO_WRAPPER", "STREAMING_WRAPPER", "free_port", "start_command"]
